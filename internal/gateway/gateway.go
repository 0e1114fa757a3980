// Package gateway owns the emulator's sockets: one TLS listener per logical AWS IoT port
// (443, 8883, 8443), the SNI, ALPN and port rules AWS applies before any authentication, and
// the hand-off of each accepted connection to the MQTT or HTTP side.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iotemu/iotemu/internal/connlimit"
)

// Role is the logical AWS IoT port a listener stands for, whatever local port it is bound to.
type Role string

// The logical ports of the AWS IoT data endpoint.
const (
	Role443  Role = "443"
	Role8883 Role = "8883"
	Role8443 Role = "8443"
)

// Roles lists every role in a stable order.
var Roles = []Role{Role443, Role8883, Role8443}

// ALPN protocol ids AWS IoT accepts.
const (
	ALPNMQTT       = "mqtt"           // AWS: MQTT with custom authentication on 443
	ALPNMQTTX509   = "x-amzn-mqtt-ca" // AWS: MQTT with an X.509 client certificate on 443
	ALPNHTTPX509   = "x-amzn-http-ca" // AWS: HTTPS with an X.509 client certificate on 443
	ALPNHTTP11     = "http/1.1"
	defaultTimeout = 10 * time.Second
)

// Default timeouts of the HTTP side of the 443 role.
const (
	defaultRequestTimeout = 20 * time.Second
	defaultIdleTimeout    = 30 * time.Second
)

// Refusal says why the gateway closed a connection before any application byte.
type Refusal struct {
	Info ConnInfo
	// Code is a short machine-readable cause (see the Refuse* constants).
	Code string
	// Message is one sentence for the decision trace.
	Message string
	// TraceID is the traceId of the HTTP answer of a refused HTTP request; empty otherwise.
	TraceID string
}

// Refusal codes.
const (
	RefuseHandshake   = "TLS_HANDSHAKE_FAILED"
	RefuseNoSNI       = "NO_SNI"
	RefuseWrongSNI    = "SNI_MISUSED"
	RefuseCertMissing = "CLIENT_CERTIFICATE_REQUIRED"
	RefuseMQTTNoALPN  = "MQTT_WITHOUT_ALPN"
	RefuseWrongHost   = "HOST_MISUSED"
	RefuseSigV4       = "SIGV4_NOT_EMULATED"
)

// Config configures a Gateway.
type Config struct {
	// Listen maps each role to a local address ("127.0.0.1:0" for an ephemeral port). A role
	// that is absent is not served.
	Listen map[Role]string
	// Certificate is presented for every connection.
	Certificate tls.Certificate
	// Endpoints are the host names the SNI (and HTTP Host) must name, compared without case.
	Endpoints []string
	// MQTT receives connections on the 443 role with ALPN mqtt, and the X.509 MQTT
	// connections (8883, 443 with ALPN x-amzn-mqtt-ca) that presented a certificate. It owns
	// the connection.
	MQTT func(*Conn)
	// HTTP serves the requests on the 443 role without ALPN (or http/1.1) that pass the Host
	// rule and are not a WebSocket upgrade on /mqtt, which the gateway hands to MQTT itself.
	HTTP http.Handler
	// Refused is told about every connection closed, or HTTP request refused, by a gateway rule.
	Refused func(Refusal)
	// HandshakeTimeout bounds the TLS handshake (default 10 s).
	HandshakeTimeout time.Duration
	// MaxPending bounds, per role, the connections that have not authenticated yet (TLS
	// handshakes, MQTT connections before their CONNECT is accepted, HTTP connections); see
	// package connlimit for which is closed to admit a new one. 0: connlimit.DefaultMax().
	MaxPending int
	// PendingGrace is how long a new connection is safe from being closed for a newcomer
	// (0: connlimit.DefaultGrace; negative: none, the oldest is closed).
	PendingGrace time.Duration
	// RequestTimeout bounds reading a whole HTTP request (an HTTPS publish carries at most
	// 128 KB) and writing its answer, and IdleTimeout a keep-alive connection between
	// requests, so that no client holds a socket by sending slowly, reading slowly or not at
	// all (defaults 20 s and 30 s). A WebSocket, once upgraded, is MQTT's and has its
	// keep-alive.
	RequestTimeout, IdleTimeout time.Duration
	Logger                      *slog.Logger

	// AcceptHostWithoutSNI lets an HTTP connection without SNI through to the Host rule.
	// AcceptHostWithoutSNI and IgnoreHostWithSNI are emulator.Inferred's switches.
	AcceptHostWithoutSNI bool
	// IgnoreHostWithSNI skips the Host rule for a request whose SNI named a data endpoint.
	IgnoreHostWithSNI bool
}

// Gateway accepts TLS connections on every configured role.
type Gateway struct {
	cfg       Config
	listeners map[Role]net.Listener
	httpLn    *connListener
	httpSrv   *http.Server
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool

	// The handshake's settings once the ClientHello is read, shared by every connection (a
	// connection keeps its tls.Config for its lifetime): one for custom authentication, one
	// that requires a client certificate.
	helloTLS, helloTLSClientCert *tls.Config
}

// Start binds every role's address and starts accepting. On error nothing stays bound.
func Start(cfg Config) (*Gateway, error) {
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = defaultTimeout
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = http.NotFoundHandler()
	}
	if cfg.Refused == nil {
		cfg.Refused = func(Refusal) {}
	}
	g := &Gateway{cfg: cfg, listeners: map[Role]net.Listener{}, conns: map[net.Conn]struct{}{}}
	g.helloTLS = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cfg.Certificate},
		// Every AWS id is advertised so that a refusal is AWS's rule, logged, and not a TLS
		// alert from Go.
		NextProtos: []string{ALPNMQTT, ALPNMQTTX509, ALPNHTTPX509, ALPNHTTP11},
	}
	g.helloTLSClientCert = g.helloTLS.Clone()
	// Any certificate completes the handshake; the account's registry judges it after CONNECT
	// (see broker.authorizeCert).
	g.helloTLSClientCert.ClientAuth = tls.RequireAnyClientCert
	for _, role := range Roles {
		addr, ok := cfg.Listen[role]
		if !ok {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("listen for port %s role on %s: %w", role, addr, err)
		}
		limited := connlimit.Wrap(ln, cfg.MaxPending, "port "+string(role)+" role", cfg.Logger)
		if cfg.PendingGrace != 0 {
			limited.Grace = cfg.PendingGrace
		}
		g.listeners[role] = limited
	}
	g.httpLn = newConnListener(g.listeners[Role443])
	g.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(g.serveHTTP),
		ConnContext:       withConn,
		ReadHeaderTimeout: cfg.HandshakeTimeout,
		ReadTimeout:       cfg.RequestTimeout,
		WriteTimeout:      cfg.RequestTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ConnState: func(c net.Conn, st http.ConnState) {
			if gc, ok := c.(*Conn); ok && gc.pending != nil {
				gc.pending.SetIdle(st == http.StateIdle) // idle keep-alive sockets are shed first
			}
		},
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	g.wg.Go(func() { _ = g.httpSrv.Serve(g.httpLn) })
	for role, ln := range g.listeners {
		g.wg.Go(func() { g.accept(role, ln) })
	}
	return g, nil
}

// Addr returns the address the role is bound to, or nil when the role is not served.
func (g *Gateway) Addr(role Role) net.Addr {
	if ln, ok := g.listeners[role]; ok {
		return ln.Addr()
	}
	return nil
}

// Close stops accepting, closes every open connection and waits for the gateway's goroutines.
func (g *Gateway) Close() error {
	g.mu.Lock()
	g.closed = true
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	for _, ln := range g.listeners {
		ln.Close()
	}
	if g.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = g.httpSrv.Shutdown(ctx)
		cancel()
		g.httpSrv.Close()
	}
	g.wg.Wait()
	return nil
}

// track registers a connection that Close must close and whose handler Close waits for; it
// reports false once the gateway is closing. Every successful track is paired with untrack.
func (g *Gateway) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns[c] = struct{}{}
	g.wg.Add(1)
	return true
}

func (g *Gateway) untrack(c net.Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	g.wg.Done()
}

func (g *Gateway) accept(role Role, ln net.Listener) {
	for {
		// connlimit's Accept rides out the errors that pass (too many open files) itself.
		raw, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				g.cfg.Logger.Error("accept failed; the role is no longer served", "role", role, "err", err)
			}
			return
		}
		if !g.track(raw) {
			raw.Close()
			return
		}
		go func() {
			defer g.untrack(raw)
			if c := g.serve(role, raw); c != nil {
				// Called here, not from serve: an MQTT connection keeps this goroutine for its
				// life, and serve's frame would stay on its stack, which the runtime counts
				// toward the heap's next goal at every collection.
				g.cfg.MQTT(c)
			}
		}()
	}
}

// serve runs the handshake and the rules for one connection. It returns an MQTT connection
// for the caller to hand on; it hands an HTTP connection to the HTTP server itself, and
// closes a refused one, and returns nil for both.
func (g *Gateway) serve(role Role, raw net.Conn) *Conn {
	info := ConnInfo{Role: role}
	if ap, err := netip.ParseAddrPort(raw.RemoteAddr().String()); err == nil {
		info.Remote = ap
	}
	tlsConn := tls.Server(raw, g.tlsConfig(&info))
	_ = raw.SetDeadline(time.Now().Add(g.cfg.HandshakeTimeout))
	if err := tlsConn.Handshake(); err != nil {
		code, msg := RefuseHandshake, "TLS handshake failed: "+err.Error()
		if needsClientCert(info) {
			code = RefuseCertMissing
			msg = fmt.Sprintf("port %s role with ALPN %q requires an X.509 client certificate and the client sent none; custom authentication works only on port 443 with ALPN mqtt", role, info.ALPNOrNone())
		}
		g.cfg.Refused(Refusal{Info: info, Code: code, Message: msg})
		raw.Close()
		return nil
	}
	_ = raw.SetDeadline(time.Time{})
	state := tlsConn.ConnectionState()
	info.ALPN = state.NegotiatedProtocol
	info.Certificates = state.PeerCertificates
	c := &Conn{Conn: tlsConn, Info: info}
	c.pending, _ = raw.(*connlimit.Conn)
	if r := g.check(info); r != nil {
		g.cfg.Refused(*r)
		tlsConn.Close()
		return nil
	}
	if isHTTP(info) {
		// AWS: port 443 without ALPN is HTTP (WebSocket upgrade or HTTPS publish).
		if g.mqttWithoutALPN(c) {
			return nil
		}
		g.httpLn.deliver(c)
		return nil
	}
	if needsClientCert(info) && (role == Role8443 || info.ALPN == ALPNHTTPX509) {
		// AWS: port 8443, and 443 with ALPN x-amzn-http-ca, are HTTPS with an X.509 client
		// certificate; the handshake required one.
		g.httpLn.deliver(c)
		return nil
	}
	// The 443 role with ALPN mqtt, or an X.509 MQTT role with a client certificate.
	return c
}

// isHTTP reports whether a completed handshake makes an HTTP connection: port 443 without
// ALPN or with http/1.1.
func isHTTP(info ConnInfo) bool {
	return info.Role == Role443 && (info.ALPN == "" || info.ALPN == ALPNHTTP11)
}

// ALPNOrNone returns the negotiated or first offered protocol, for messages.
func (i ConnInfo) ALPNOrNone() string {
	if i.ALPN != "" {
		return i.ALPN
	}
	if len(i.OfferedALPN) > 0 {
		return strings.Join(i.OfferedALPN, ",")
	}
	return "none"
}

// needsClientCert reports whether AWS requires an X.509 client certificate for this port and
// ALPN offer.
func needsClientCert(info ConnInfo) bool {
	if info.Role != Role443 {
		return true // AWS: ports 8883 and 8443 take X.509 client certificates only
	}
	return slices.Contains(info.OfferedALPN, ALPNMQTTX509) || slices.Contains(info.OfferedALPN, ALPNHTTPX509) // AWS: x-amzn-*-ca ALPN means X.509 authentication
}

// singleOffers are the offers of one protocol the gateway knows, which most devices make.
var singleOffers = [...][]string{{ALPNMQTT}, {ALPNMQTTX509}, {ALPNHTTPX509}, {ALPNHTTP11}}

// offeredALPN returns the protocols a client offered as ConnInfo keeps them: a copy, or for
// an offer of one protocol the gateway knows, a list every connection shares.
func offeredALPN(protos []string) []string {
	if len(protos) == 1 {
		for _, offer := range singleOffers {
			if offer[0] == protos[0] {
				return offer
			}
		}
	}
	return slices.Clone(protos)
}

func (g *Gateway) tlsConfig(info *ConnInfo) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			info.ServerName = hello.ServerName
			info.OfferedALPN = offeredALPN(hello.SupportedProtos)
			if needsClientCert(*info) {
				return g.helloTLSClientCert, nil
			}
			return g.helloTLS, nil
		},
	}
}

// check applies AWS's rules to a completed handshake and returns the refusal, if any.
func (g *Gateway) check(info ConnInfo) *Refusal {
	if info.ServerName == "" && g.cfg.AcceptHostWithoutSNI && isHTTP(info) && !needsClientCert(info) {
		// AWS (inferred): switch inferred.acceptHostWithoutSNI: the Host header stands in for
		// the SNI; serveHTTP checks it.
		return nil
	}
	if info.ServerName == "" {
		// AWS: a connection without SNI is refused; no Connection.AuthNError is logged.
		return &Refusal{Info: info, Code: RefuseNoSNI, Message: "the client sent no SNI (TLS server_name); AWS IoT refuses connections without SNI naming the account's data endpoint"}
	}
	if !g.IsEndpoint(info.ServerName) {
		// AWS: an SNI that is not one of the account's endpoints is refused before any authorizer runs.
		return &Refusal{Info: info, Code: RefuseWrongSNI, Message: fmt.Sprintf("SNI %q is not this account's data endpoint (%s); the authorizer was not invoked", info.ServerName, strings.Join(g.cfg.Endpoints, " or "))}
	}
	return nil
}

// IsEndpoint reports whether host (an SNI or an HTTP Host without port) names a data endpoint.
func (g *Gateway) IsEndpoint(host string) bool {
	for _, e := range g.cfg.Endpoints {
		if strings.EqualFold(host, e) {
			return true
		}
	}
	return false
}

// mqttWithoutALPN reads the first byte of an HTTP connection. AWS would answer an MQTT CONNECT
// sent there as an HTTP error; the emulator refuses it the same way but says why in the trace,
// the most common custom-auth mistake. Any other byte is pushed back for the HTTP server.
func (g *Gateway) mqttWithoutALPN(c *Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(g.cfg.HandshakeTimeout))
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		c.Close()
		return true
	}
	_ = c.SetReadDeadline(time.Time{})
	if first[0] == mqttConnectByte {
		g.cfg.Refused(Refusal{Info: c.Info, Code: RefuseMQTTNoALPN, Message: "an MQTT CONNECT arrived on port 443 without ALPN mqtt; AWS IoT treats such a connection as HTTP, so MQTT with custom authentication needs the client to offer ALPN \"mqtt\""})
		c.Close()
		return true
	}
	c.Unread(first[:])
	return false
}

// mqttConnectByte is the first byte of every MQTT CONNECT packet.
const mqttConnectByte = 0x10
