package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The WebSocket subprotocols of MQTT over WSS. AWS: mqtt; older JavaScript clients send
// mqttv3.1, which AWS accepts too.
var webSocketSubprotocols = []string{"mqtt", "mqttv3.1"}

// serveWebSocket upgrades a request for /mqtt to a WebSocket and hands it to the MQTT
// handler, as direct MQTT, with the upgrade request in info.HTTP: the authorizer runs at the
// MQTT CONNECT, with the upgrade's headers and query as well as the CONNECT username.
// AWS (inferred): the upgrade itself always succeeds.
func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request, info ConnInfo) {
	up := websocket.Upgrader{
		HandshakeTimeout: g.cfg.HandshakeTimeout,
		// The client's subprotocol is answered: mqtt when it offers both. [MQTT-6.0.0-4]
		Subprotocols: webSocketSubprotocols,
		// AWS (inferred): any Origin is accepted; browsers authenticate with the query string.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered with an HTTP error (400 for a request that is no upgrade).
		g.cfg.Logger.Debug("websocket upgrade refused", "remote", info.Remote, "err", err)
		return
	}
	c := &Conn{Conn: WebSocketConn(ws), Info: info}
	if hc := ConnFromContext(r.Context()); hc != nil {
		c.pending = hc.pending // the upgraded socket stays pending until MQTT authenticates
	}
	// The HTTP server forgets a hijacked connection: the gateway closes it and waits for it.
	if !g.track(c) {
		c.Close()
		return
	}
	defer g.untrack(c)
	g.cfg.MQTT(c)
}

// WebSocketConn returns a WebSocket (either end) as the byte stream MQTT expects. The gateway
// uses it for upgraded connections; MQTT clients without a WebSocket transport of their own
// (paho.golang) use it to speak MQTT 5 over WebSockets.
func WebSocketConn(ws *websocket.Conn) net.Conn { return &wsConn{ws: ws} }

// wsConn is a WebSocket seen as the byte stream MQTT expects. Reads run over the binary
// messages as one stream: an MQTT packet may span messages and a message may hold several
// packets ([MQTT-6.0.0-2]). Each Write is one binary message.
type wsConn struct {
	ws *websocket.Conn

	rmu sync.Mutex
	msg io.Reader // the message being read; nil between messages

	wmu           sync.Mutex                // one writer at a time, as gorilla/websocket requires
	writeDeadline atomic.Pointer[time.Time] // applied by Write: gorilla's own is not safe to set during a write
}

// errNotBinary ends a connection that sent a text message.
var errNotBinary = errors.New("websocket: MQTT arrives in binary messages only; a text message closes the connection") // [MQTT-6.0.0-1]

// Read reads the stream of binary messages. The end of the WebSocket (a close message, or the
// socket closing without one) reads as io.EOF, a read deadline as os.ErrDeadlineExceeded, as
// on a TLS connection, so that the broker reports them the same way.
func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.msg == nil {
			kind, r, err := c.ws.NextReader()
			if err != nil {
				return 0, streamError(err)
			}
			if kind != websocket.BinaryMessage {
				return 0, errNotBinary
			}
			c.msg = r
		}
		n, err := c.msg.Read(p)
		if err == io.EOF {
			c.msg = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			err = streamError(err)
		}
		return n, err
	}
}

// streamError translates gorilla/websocket's read errors to those of a byte stream.
func streamError(err error) error {
	var closeErr *websocket.CloseError
	var netErr net.Error
	switch {
	case errors.As(err, &closeErr):
		return io.EOF
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
	}
	return err
}

// Write sends p as one binary message.
func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var deadline time.Time
	if d := c.writeDeadline.Load(); d != nil {
		deadline = *d
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the underlying TLS connection.
func (c *wsConn) Close() error { return c.ws.Close() }

// LocalAddr returns the local address of the underlying connection.
func (c *wsConn) LocalAddr() net.Addr { return c.ws.LocalAddr() }

// RemoteAddr returns the client's address.
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *wsConn) SetDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return c.ws.SetReadDeadline(t)
}

// SetReadDeadline sets the deadline of reads.
func (c *wsConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of the writes that start from now on.
func (c *wsConn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return nil
}
