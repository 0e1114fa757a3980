package gateway

import (
	"bytes"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/iotemu/iotemu/internal/connlimit"
)

// ConnInfo is what the gateway learned about a connection before any application byte was read.
type ConnInfo struct {
	Role        Role
	ServerName  string   // SNI as sent; "" when the client sent none
	OfferedALPN []string // protocols the client offered; read-only: connections may share it
	ALPN        string   // protocol agreed; "" when none
	Remote      netip.AddrPort
	// Certificates is the chain the client presented, its own certificate first; only the
	// X.509 roles ask for one. The gateway does not verify it: the account's registry does.
	Certificates []*x509.Certificate
	// HTTP is set for what came over HTTP (MQTT over WebSockets, an HTTPS publish, a refused
	// request): what the request (for WebSockets, the upgrade) carried.
	HTTP *HTTPInfo
}

// HTTPInfo is what an HTTP request (a WebSocket upgrade or an HTTPS publish) told about the
// client.
type HTTPInfo struct {
	Host        string
	Headers     map[string]string // names in lower case, first value of each
	QueryString string            // raw, without '?'
}

// Conn is a TLS connection that passed the gateway's rules. It carries its ConnInfo to the
// handler and, through the broker's client, to the hooks that enforce policy.
type Conn struct {
	net.Conn
	Info ConnInfo

	mu     sync.Mutex
	unread *bytes.Reader // bytes pushed back by Unread, read before the socket
	value  any

	// pending is the accepted socket's place among the role's connections that have not
	// authenticated yet; nil for connections a test builds.
	pending *connlimit.Conn

	closeOnce sync.Once
}

// lingerTime is how long a closed connection keeps its read side open after the emulator's
// last bytes (a DISCONNECT, an HTTP answer) and its close_notify were sent.
const lingerTime = 250 * time.Millisecond

// Close ends the connection gracefully: it sends TLS close_notify and shuts the write side,
// then closes the socket once the client has closed its side or after lingerTime. Closing at
// once while the client's bytes sit unread would make the kernel answer with a TCP reset,
// which can destroy a DISCONNECT the client has not read yet.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		cw, ok := c.Conn.(interface{ CloseWrite() error })
		if !ok {
			c.Conn.Close()
			return
		}
		_ = c.Conn.SetWriteDeadline(time.Now().Add(lingerTime))
		if err := cw.CloseWrite(); err != nil {
			c.Conn.Close()
			return
		}
		time.AfterFunc(lingerTime, func() { c.Conn.Close() })
	})
	return nil
}

// Read reads bytes pushed back with Unread first, then from the socket.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	r := c.unread
	c.mu.Unlock()
	if r != nil {
		n, err := r.Read(p)
		if err == io.EOF {
			c.mu.Lock()
			c.unread = nil
			c.mu.Unlock()
			if n > 0 {
				return n, nil
			}
			return c.Conn.Read(p)
		}
		return n, err
	}
	return c.Conn.Read(p)
}

// Unread pushes b back so that the next reads return it before the socket's bytes. The gateway
// reads the first MQTT packet itself and hands it back to the broker this way.
func (c *Conn) Unread(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unread != nil && c.unread.Len() > 0 {
		rest, _ := io.ReadAll(c.unread) // a bytes.Reader fails never
		b = slices.Concat(b, rest)
	}
	c.unread = bytes.NewReader(b)
}

// Authenticated tells the gateway that the client authenticated: its socket is no longer
// among those the role sheds under a flood or when descriptors run out.
func (c *Conn) Authenticated() {
	if c.pending != nil {
		c.pending.Authenticated()
	}
}

// SetValue attaches a value (the emulator's session) to the connection.
func (c *Conn) SetValue(v any) {
	c.mu.Lock()
	c.value = v
	c.mu.Unlock()
}

// Value returns the value attached with SetValue.
func (c *Conn) Value() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}
