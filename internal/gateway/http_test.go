package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestFloodDoesNotLockOutDevices: sockets that never finish a handshake are bounded per role;
// the oldest are closed to admit new ones, so a fresh device still reaches the MQTT side and a
// device that authenticated before the flood keeps being served. (Before the bound, the flood
// held every socket for the whole handshake timeout.)
func TestFloodDoesNotLockOutDevices(t *testing.T) {
	tg := startGateway(t, func(c *Config) {
		c.MaxPending = 4
		c.PendingGrace = -1              // silent sockets: the oldest goes, however young
		c.HandshakeTimeout = time.Minute // only the bound can close the flood in time
	})
	device, err := tg.dialTLS(t, Role443, endpoint, ALPNMQTT)
	if err != nil {
		t.Fatal(err)
	}
	if !echoes(device, 'A') { // 'A': the test's MQTT side marks it authenticated
		t.Fatal("device not served")
	}
	<-tg.mqtt

	var flood []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", tg.Addr(Role443).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		flood = append(flood, c)
	}
	for i, c := range flood[:16] {
		if !closedByServer(c) {
			t.Fatalf("flood socket %d of the 16 oldest is still open", i)
		}
	}
	fresh, err := tg.dialTLS(t, Role443, endpoint, ALPNMQTT)
	if err != nil {
		t.Fatalf("a fresh device during the flood: %v", err)
	}
	if !echoes(fresh, 'A') {
		t.Fatal("a fresh device during the flood was not served")
	}
	if !echoes(device, 'z') {
		t.Fatal("the device that authenticated before the flood was cut off")
	}
}

// TestHTTPTimeouts: a keep-alive connection left idle, and a request whose body never comes,
// are closed by the server instead of holding their sockets. The request timeout also bounds
// the first request and its answer, so it leaves room for a busy machine.
func TestHTTPTimeouts(t *testing.T) {
	tg := startGateway(t, func(c *Config) {
		c.IdleTimeout = 100 * time.Millisecond
		c.RequestTimeout = 2 * time.Second
	})
	idle, err := tg.dialTLS(t, Role443, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(idle, "GET /x HTTP/1.1\r\nHost: %s\r\n\r\n", endpoint)
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if !closedByServer(idle) {
		t.Fatal("an idle keep-alive connection was not closed")
	}

	slow, err := tg.dialTLS(t, Role443, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(slow, "POST /topics/t HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\nonly a little", endpoint)
	if !closedByServer(slow) {
		t.Fatal("a request whose body never comes was not closed")
	}
}

// TestIdleHTTPSocketsGiveWayToDevices: with every place for unauthenticated sockets held by
// idle HTTP keep-alive connections, a device still gets in, and an idle one is closed for it.
func TestIdleHTTPSocketsGiveWayToDevices(t *testing.T) {
	tg := startGateway(t, func(c *Config) { c.MaxPending = 4 })
	var idle []net.Conn
	for range 4 {
		c, err := tg.dialTLS(t, Role443, endpoint)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\n\r\n", endpoint)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		idle = append(idle, c)
	}
	// The server marks a connection idle just after its answer is sent: a device that comes
	// before waits in the backlog until it is.
	device, err := tg.dialTLS(t, Role443, endpoint, ALPNMQTT)
	if err != nil {
		t.Fatalf("a device beside idle HTTP sockets: %v", err)
	}
	if !echoes(device, 'A') {
		t.Fatal("the device was not served")
	}
	if !closedByServer(idle[0]) {
		t.Fatal("the oldest idle HTTP socket was not closed for the device")
	}
}
