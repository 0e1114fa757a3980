//go:build linux || darwin

package bench

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ioTimeout bounds every dial, handshake and CONNACK wait of the benchmark client.
const ioTimeout = 30 * time.Second

// keepAlive is what the clients ask for: AWS's maximum, so that idle connections send nothing.
const keepAlive = 1200

// target is a server to connect to and how: the same hand-written client serves the emulator
// and bare mochi, so that both pay exactly the same client cost.
type target struct {
	Addr       string `json:"addr"`
	ServerName string `json:"serverName"` // SNI
	CAPEM      string `json:"caPEM"`      // the CA that signed the server certificate
	Username   string `json:"username"`   // the MQTT username (custom authorizer credentials)
	// CertPEM and KeyPEM are the device certificate of an X.509 target (port 8883, no ALPN);
	// empty for custom authentication.
	CertPEM string `json:"certPEM,omitempty"`
	KeyPEM  string `json:"keyPEM,omitempty"`
}

// tlsConfig is the client TLS configuration for t: it trusts t's CA, sends SNI and offers ALPN
// mqtt, or, for an X.509 target, presents the device certificate without ALPN. It has no ClientSessionCache, so that every connect is a full handshake (no
// resumption) whatever the server offers.
func (t target) tlsConfig() (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(t.CAPEM)) {
		return nil, errors.New("no CA certificate in the target's PEM")
	}
	cfg := &tls.Config{
		RootCAs:    pool,
		ServerName: t.ServerName,
		NextProtos: []string{"mqtt"},
		MinVersion: tls.VersionTLS12,
	}
	if t.CertPEM != "" {
		cert, err := tls.X509KeyPair([]byte(t.CertPEM), []byte(t.KeyPEM))
		if err != nil {
			return nil, fmt.Errorf("device certificate: %w", err)
		}
		cfg.Certificates, cfg.NextProtos = []tls.Certificate{cert}, nil
	}
	return cfg, nil
}

// client connects to one target.
type client struct {
	addr     string
	tls      *tls.Config
	username string
}

func newClient(t target) (*client, error) {
	cfg, err := t.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &client{addr: t.Addr, tls: cfg, username: t.Username}, nil
}

// connect opens one MQTT connection: TCP dial, TLS handshake, MQTT 3.1.1 CONNECT with a clean
// session, and a successful CONNACK. The connection is left open and idle.
func (c *client) connect(clientID string) (*tls.Conn, error) {
	raw, err := net.DialTimeout("tcp", c.addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, c.tls)
	if err := mqttConnect(conn, clientID, c.username); err != nil {
		conn.Close()
		return nil, fmt.Errorf("client %s: %w", clientID, err)
	}
	return conn, nil
}

// connectOnce is one benchmarked connect: connect, then DISCONNECT and close.
func (c *client) connectOnce(clientID string) error {
	conn, err := c.connect(clientID)
	if err != nil {
		return err
	}
	_, err = conn.Write(disconnectPacket)
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// mqttConnect runs the handshake, sends CONNECT and reads CONNACK, within ioTimeout.
func mqttConnect(conn *tls.Conn, clientID, username string) error {
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	if err := conn.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	if _, err := conn.Write(connectPacket(clientID, username)); err != nil {
		return fmt.Errorf("write CONNECT: %w", err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		return fmt.Errorf("read CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 || ack[3] != 0 {
		return fmt.Errorf("CONNACK % x: not accepted", ack)
	}
	return conn.SetDeadline(time.Time{})
}

// disconnectPacket is an MQTT DISCONNECT.
var disconnectPacket = []byte{0xe0, 0x00}

// connectPacket encodes an MQTT 3.1.1 CONNECT with a clean session, keepAlive and, when
// username is not empty, a username.
func connectPacket(clientID, username string) []byte {
	flags := byte(0x02) // clean session
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 0}
	binary.BigEndian.PutUint16(body[8:], keepAlive)
	body = appendString(body, clientID)
	if username != "" {
		flags |= 0x80
		body = appendString(body, username)
	}
	body[7] = flags
	pk := []byte{0x10}
	for n := len(body); ; { // remaining length, MQTT's variable-length integer
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pk = append(pk, b)
		if n == 0 {
			break
		}
	}
	return append(pk, body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}
