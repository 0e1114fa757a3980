package scenarios

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// How long a device waits for the emulator. The authorizer alone may take 5 s.
const (
	connectTimeout = 10 * time.Second
	ackTimeout     = 5 * time.Second
)

// device is a client of a running scenario: its definition resolved against the emulator,
// and its current connection.
type device struct {
	name     string
	def      *client
	creds    credentials
	clientID string
	addr     string // the local address of the logical port
	host     string // the HTTP Host header (wss, https)
	tls      *tls.Config
	conn     conn  // the open MQTT connection; nil when there is none
	link     *link // the current connection's events; nil before the first connect
	https    *httpsClient
	pending  []message // messages received and not yet expected
}

// conn is one open MQTT connection, whatever the MQTT version.
type conn interface {
	// publish sends a PUBLISH and returns the PUBACK reason code (0 for QoS 0, and for
	// MQTT 3.1.1 whose PUBACK has none).
	publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (byte, error)
	// subscribe sends a SUBSCRIBE with one filter and returns the SUBACK code.
	subscribe(ctx context.Context, filter string, qos byte) (byte, error)
	disconnect()
}

// connectResult is what a device sees when it connects.
type connectResult struct {
	result string // connected, refused (CONNACK with an error code) or closed (no CONNACK)
	code   byte   // the CONNACK code
	err    error
}

func (r connectResult) String() string {
	switch r.result {
	case "connected":
		return "connected"
	case "refused":
		return fmt.Sprintf("refused with CONNACK 0x%02x", r.code)
	}
	return fmt.Sprintf("closed without CONNACK (%v)", r.err)
}

// message is a PUBLISH a device received.
type message struct {
	topic    string
	payload  string
	retained bool
}

// link carries what happens to one connection: the messages it receives and how it ends.
type link struct {
	inbox  chan message
	once   sync.Once
	closed chan struct{}
	reason string // why it closed
	code   *byte  // the MQTT 5 DISCONNECT reason code, when the server sent one
}

func newLink() *link { return &link{inbox: make(chan message, 256), closed: make(chan struct{})} }

// deliver queues a received message.
func (l *link) deliver(m message) {
	select {
	case l.inbox <- m:
	default: // a scenario that ignores 256 messages has lost track anyway
	}
}

// close records the end of the connection; only the first call counts.
func (l *link) close(reason string, code *byte) {
	l.once.Do(func() {
		l.reason, l.code = reason, code
		close(l.closed)
	})
}

// closedWithin reports whether the connection ends within d.
func (l *link) closedWithin(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.closed:
		return true
	case <-t.C:
		return false
	}
}

// newDevice resolves a client against the running emulator.
func (x *execution) newDevice(name string, c *client) (*device, error) {
	creds, err := x.sc.credentialsOf(c, x.keys)
	if err != nil {
		return nil, err
	}
	d := &device{name: name, def: c, creds: creds, clientID: name, host: x.emu.Endpoint()}
	if c.ClientID != nil {
		d.clientID = *c.ClientID
	}
	if c.Host != "" {
		d.host = c.Host
	}
	port := map[int]emulator.Port{0: emulator.Port443, 443: emulator.Port443, 8883: emulator.Port8883, 8443: emulator.Port8443}[c.Port]
	a := x.emu.Addr(port)
	if a == nil {
		return nil, fmt.Errorf("the emulator serves no port %s", port)
	}
	d.addr = a.String()
	d.tls = x.tlsConfig(c)
	if c.Transport == "https" {
		d.https = newHTTPSClient(d)
	}
	return d, nil
}

// tlsConfig is what the device offers in its ClientHello: SNI and ALPN as the file says. It
// checks the emulator's certificate chain but not the host name, so that an SNI AWS refuses
// reaches the emulator's rule instead of failing in the device.
func (x *execution) tlsConfig(c *client) *tls.Config {
	roots := x.emu.CACertPool()
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		},
	}
	switch c.SNI {
	case "", "endpoint":
		cfg.ServerName = x.emu.Endpoint()
	case "legacy":
		cfg.ServerName = x.emu.Endpoints()[1]
	case "none":
	default:
		cfg.ServerName = c.SNI
	}
	switch {
	case c.ALPN != nil:
		cfg.NextProtos = c.ALPN
	case c.Transport == "mqtt" || c.Transport == "":
		cfg.NextProtos = []string{"mqtt"}
	default:
		cfg.NextProtos = []string{"http/1.1"}
	}
	x.certificateTLS(c, cfg)
	return cfg
}

// connect opens a new MQTT connection (over TLS, or WebSockets).
func (d *device) connect(ctx context.Context) connectResult {
	d.link = newLink()
	d.pending = nil
	var c conn
	var r connectResult
	if d.def.Protocol == "mqtt311" {
		c, r = d.connect311(d.brokerURL())
	} else {
		c, r = d.connect5(ctx)
	}
	if r.result == "connected" {
		d.conn = c
	} else {
		d.link.close("never connected", nil)
	}
	return r
}

// brokerURL is the address paho.mqtt.golang dials.
func (d *device) brokerURL() string {
	if d.def.Transport != "wss" {
		return "tls://" + d.addr
	}
	u := url.URL{Scheme: "wss", Host: d.addr, Path: "/mqtt"}
	if d.def.CredentialsIn == "query" {
		u.RawQuery = d.creds.query()
	}
	return u.String()
}

// ackContext bounds a wait for an acknowledgement: it ends after ackTimeout, or as soon as
// the connection closes.
func (d *device) ackContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, ackTimeout)
	closed := d.link.closed
	go func() {
		select {
		case <-closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// close ends the device's connection, if it has one.
func (d *device) close() {
	if d.conn != nil {
		d.conn.disconnect()
		d.conn = nil
	}
	if d.https != nil {
		d.https.close()
	}
}

// receive returns the first received message that match accepts, waiting up to d for it.
func (d *device) receive(match func(message) bool, wait time.Duration) (message, bool) {
	for i, m := range d.pending {
		if match(m) {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return m, true
		}
	}
	if d.link == nil {
		return message{}, false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case m := <-d.link.inbox:
			if match(m) {
				return m, true
			}
			d.pending = append(d.pending, m)
		case <-t.C:
			return message{}, false
		}
	}
}
