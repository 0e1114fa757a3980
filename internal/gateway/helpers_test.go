package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/iotemu/iotemu/internal/certs"
)

// endpoint is the data endpoint the test gateways serve.
const endpoint = "a1b2c3-ats.iot.us-east-1.amazonaws.com"

// testGateway is a gateway on loopback whose MQTT side echoes, after marking the connection
// authenticated when its first byte is 'A', and whose HTTP side answers 200 "ok".
type testGateway struct {
	*Gateway
	pool     *x509.CertPool
	mqtt     chan *Conn
	refusals chan Refusal
}

func startGateway(t *testing.T, adjust func(*Config)) *testGateway {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue([]string{endpoint, "*.iot.us-east-1.amazonaws.com"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tg := &testGateway{pool: ca.Pool(), mqtt: make(chan *Conn, 100), refusals: make(chan Refusal, 100)}
	cfg := Config{
		Listen:      map[Role]string{Role443: "127.0.0.1:0", Role8883: "127.0.0.1:0", Role8443: "127.0.0.1:0"},
		Certificate: cert,
		Endpoints:   []string{endpoint},
		MQTT: func(c *Conn) {
			defer c.Close()
			tg.mqtt <- c
			first := make([]byte, 1)
			if _, err := io.ReadFull(c, first); err != nil {
				return
			}
			if first[0] == 'A' {
				c.Authenticated()
			}
			_, _ = c.Write(first)
			_, _ = io.Copy(c, c)
		},
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}),
		Refused: func(r Refusal) { tg.refusals <- r },
	}
	if adjust != nil {
		adjust(&cfg)
	}
	g, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	tg.Gateway = g
	return tg
}

// dialTLS connects to role with the given SNI and ALPN offer; the handshake's error, if any,
// is returned with the connection closed.
func (tg *testGateway) dialTLS(t *testing.T, role Role, sni string, alpn ...string) (*tls.Conn, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tg.Addr(role).String(), &tls.Config{
		RootCAs:    tg.pool,
		ServerName: sni,
		NextProtos: alpn,
		// Without SNI the certificate is checked against the endpoint name all the same.
		InsecureSkipVerify: sni == "",
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// refusal waits for the next refusal.
func (tg *testGateway) refusal(t *testing.T) Refusal {
	t.Helper()
	select {
	case r := <-tg.refusals:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no refusal reported")
		return Refusal{}
	}
}

// echoes reports whether a byte written to c comes back.
func echoes(c net.Conn, b byte) bool {
	if _, err := c.Write([]byte{b}); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	got := make([]byte, 1)
	_, err := io.ReadFull(c, got)
	return err == nil && got[0] == b
}

// closedByServer reports whether the server closed c: a read ends otherwise than by the
// 10 s safety deadline.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(c)
	ne, ok := err.(net.Error)
	return !(ok && ne.Timeout())
}
