// Package socks is a small SOCKS5 proxy (RFC 1928, CONNECT only, no authentication) that
// stands in for DNS: whatever host a client asks for, it connects to the emulator's listener for
// the requested port. Clients then use the real endpoint name, which they also send as SNI,
// without any change to /etc/hosts: mosquitto_pub --proxy socks5h://..., curl --proxy
// socks5h://...
package socks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

func (s *Server) serve(c net.Conn) {
	defer s.untrack(c)
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	host, port, err := handshake(c)
	if err != nil {
		s.log.Debug("socks handshake", "err", err)
		return
	}
	target, ok := s.ports[port]
	if !ok {
		s.log.Info("socks: refused, no listener for that port", "host", host, "port", port)
		reply(c, repNotAllowed)
		return
	}
	up, err := net.DialTimeout("tcp", target, handshakeTimeout)
	if err != nil {
		reply(c, repHostUnreach)
		return
	}
	if !s.track(up) {
		up.Close()
		return
	}
	defer s.untrack(up)
	if err := reply(c, repSucceeded); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
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
