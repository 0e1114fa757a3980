// Package socks is a small proxy that stands in for DNS: whatever host a client asks for, it
// connects to the emulator's listener for the requested port. Clients then use the real
// endpoint name, which they also send as SNI, without any change to /etc/hosts. It speaks
// SOCKS5 (RFC 1928, CONNECT only, no authentication: mosquitto_pub --proxy socks5h://...,
// curl --proxy socks5h://...) and, on the same port, HTTP CONNECT (RFC 9110 section 9.3.6),
// the only proxy AWS's device SDKs and their C runtime support.
package socks

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	version5          = 5
	cmdConnect        = 1
	atypIPv4          = 1
	atypDomain        = 3
	atypIPv6          = 4
	repSucceeded      = 0
	repNotAllowed     = 2
	repHostUnreach    = 4
	repCmdUnsupported = 7
	repAtypUnsupport  = 8
	handshakeTimeout  = 10 * time.Second
	// maxRequest bounds what a client may send before its tunnel opens.
	maxRequest = 16 << 10
)

// Server is a running proxy.
type Server struct {
	ln     net.Listener
	ports  map[string]string
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen starts a proxy on addr. ports maps a requested port number ("443") to the local
// address that serves it; requests for any other port are refused.
func Listen(addr string, ports map[string]string, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for SOCKS5 proxy on %s: %w", addr, err)
	}
	s := &Server{ln: ln, ports: ports, log: log, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.accept)
	return s, nil
}

// Addr returns the proxy's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the proxy and every tunnel through it.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) track(cs ...net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	for _, c := range cs {
		s.conns[c] = struct{}{}
	}
	return true
}

func (s *Server) untrack(cs ...net.Conn) {
	s.mu.Lock()
	for _, c := range cs {
		delete(s.conns, c)
		c.Close()
	}
	s.mu.Unlock()
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Go(func() { s.serve(c) })
	}
}

// answers tells a client of either protocol how its request ended.
type answers struct{ refused, unreachable, succeeded func() error }

func (s *Server) serve(c net.Conn) {
	defer s.untrack(c)
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	// The client's first byte says which protocol it speaks: 5 for SOCKS5, a capital letter
	// (CONNECT) for HTTP.
	// Its request is read through a limit, lifted once the tunnel is open.
	limited := &io.LimitedReader{R: c, N: maxRequest}
	br := bufio.NewReaderSize(limited, 4096)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	in := &bufferedConn{Conn: c, r: br}
	var host, port string
	var ans answers
	if first[0] < 'A' || first[0] > 'Z' { // not an HTTP method: SOCKS, which says what is wrong
		host, port, err = handshake(in)
		ans = answers{
			refused:     func() error { return reply(c, repNotAllowed) },
			unreachable: func() error { return reply(c, repHostUnreach) },
			succeeded:   func() error { return reply(c, repSucceeded) },
		}
	} else {
		status := func(code int) func() error {
			return func() error {
				_, err := fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n\r\n", code, http.StatusText(code))
				return err
			}
		}
		ans = answers{refused: status(http.StatusForbidden), unreachable: status(http.StatusBadGateway), succeeded: status(http.StatusOK)}
		if host, port, err = httpConnect(br); err != nil {
			_ = status(http.StatusBadRequest)()
		}
	}
	if err != nil {
		s.log.Debug("proxy handshake", "err", err)
		return
	}
	target, ok := s.ports[port]
	if !ok {
		s.log.Info("proxy: refused, no listener for that port", "host", host, "port", port)
		_ = ans.refused()
		return
	}
	up, err := net.DialTimeout("tcp", target, handshakeTimeout)
	if err != nil {
		_ = ans.unreachable()
		return
	}
	if !s.track(up) {
		up.Close()
		return
	}
	defer s.untrack(up)
	if err := ans.succeeded(); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	limited.N = math.MaxInt64
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, in) // what the client sent after its request may already be buffered
	go pipe(c, up)
	<-done
	<-done
}

// bufferedConn reads through the reader that peeked at the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// httpConnect reads an HTTP CONNECT request and returns the host and port it asks for.
func httpConnect(r *bufio.Reader) (host, port string, err error) {
	req, err := http.ReadRequest(r)
	if err != nil {
		return "", "", fmt.Errorf("read HTTP proxy request: %w", err)
	}
	if req.Method != http.MethodConnect {
		return "", "", fmt.Errorf("HTTP proxy request %s: only CONNECT is served", req.Method)
	}
	return net.SplitHostPort(req.Host)
}

// handshake runs the method negotiation and reads a CONNECT request; it answers errors itself.
func handshake(c net.Conn) (host, port string, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", "", err
	}
	if hdr[0] != version5 {
		return "", "", fmt.Errorf("SOCKS version %d, want 5", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", "", err
	}
	noAuth := false
	for _, m := range methods {
		noAuth = noAuth || m == 0
	}
	if !noAuth {
		c.Write([]byte{version5, 0xFF})
		return "", "", errors.New("client offers no method without authentication")
	}
	if _, err := c.Write([]byte{version5, 0}); err != nil {
		return "", "", err
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return "", "", err
	}
	if req[1] != cmdConnect {
		reply(c, repCmdUnsupported)
		return "", "", fmt.Errorf("command %d is not CONNECT", req[1])
	}
	switch req[3] {
	case atypIPv4, atypIPv6:
		ip := make(net.IP, 4)
		if req[3] == atypIPv6 {
			ip = make(net.IP, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return "", "", err
		}
		host = ip.String()
	case atypDomain:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return "", "", err
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return "", "", err
		}
		host = string(name)
	default:
		reply(c, repAtypUnsupport)
		return "", "", fmt.Errorf("address type %d", req[3])
	}
	var p [2]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		return "", "", err
	}
	return host, strconv.Itoa(int(binary.BigEndian.Uint16(p[:]))), nil
}

func reply(c net.Conn, rep byte) error {
	_, err := c.Write([]byte{version5, rep, 0, atypIPv4, 0, 0, 0, 0, 0, 0})
	return err
}
