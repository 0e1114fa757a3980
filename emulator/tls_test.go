package emulator_test

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// TestTLSRules covers AWS's rules at the TLS layer, before any authorizer runs.
func TestTLSRules(t *testing.T) {
	t.Parallel()
	invoked := make(chan struct{}, 10)
	cfg := config(rawHandler(func([]byte) []byte {
		invoked <- struct{}{}
		return nil
	}))
	emu := start(t, cfg)

	cases := []struct {
		name    string
		mutate  func(*device)
		authN   string // reason of the Connection.AuthNError, "" when none is logged
		trace   string
		handsha bool // the TLS handshake itself fails
	}{
		{name: "no SNI", mutate: func(d *device) {
			d.tls.ServerName = ""
			d.tls.InsecureSkipVerify = true // an IP address as host: nothing to verify the name against
		}, trace: "no SNI"},
		{name: "wrong SNI", mutate: func(d *device) { d.tls.ServerName = "zzzzzzzzzzzzzz-ats.iot.us-east-1.amazonaws.com" },
			authN: "SNI_MISUSED", trace: "zzzzzzzzzzzzzz-ats"},
		{name: "no ALPN", mutate: func(d *device) { d.tls.NextProtos = nil }, trace: "without ALPN"},
		{name: "ALPN x-amzn-mqtt-ca", mutate: func(d *device) { d.tls.NextProtos = []string{"x-amzn-mqtt-ca"} },
			trace: "X.509 client certificate", handsha: true},
		{name: "port 8883", mutate: func(d *device) { d.addr = emu.Addr(emulator.Port8883).String() },
			trace: "port 8883", handsha: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDevice(t, emu, "tls-"+strings.ReplaceAll(tc.name, " ", "-"))
			tc.mutate(&d)
			conn, err := tls.Dial("tcp", d.addr, d.tls)
			if tc.handsha {
				if err == nil {
					// TLS 1.3 reports a client-certificate refusal at the first read.
					_ = conn.SetReadDeadline(time.Now().Add(waitLong))
					_, err = conn.Read(make([]byte, 1))
					conn.Close()
				}
				if err == nil || !strings.Contains(err.Error(), "certificate required") {
					t.Fatalf("handshake: %v; want a certificate-required alert", err)
				}
			} else if err != nil {
				t.Fatalf("dial: %v", err)
			} else {
				conn.Close()
			}
			if _, err := d.connectV3(t); err == nil {
				t.Fatal("MQTT connection accepted")
			}
			if tc.authN != "" {
				waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason="+tc.authN)
			}
			traceMentions(t, emu, tc.trace)
		})
	}
	for _, e := range emu.Logs().Events() {
		if e.EventType == "Connection.AuthNError" && e.Reason != "SNI_MISUSED" {
			t.Errorf("unexpected %s %s", e.EventType, e.Reason)
		}
	}
	select {
	case <-invoked:
		t.Error("the authorizer was invoked for a connection refused at the TLS layer")
	default:
	}
}

// TestLegacyEndpoint: the legacy (non-ATS) endpoint name is accepted as SNI.
func TestLegacyEndpoint(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	d := newDevice(t, emu, "legacy")
	d.tls.ServerName = emu.Endpoints()[1]
	if _, err := d.connectV3(t); err != nil {
		t.Fatalf("connect with the legacy endpoint as SNI: %v", err)
	}
}

// TestSilentClientsAreClosed: a client that never completes the handshake, or never sends
// CONNECT, loses its socket.
// Each timeout is short in its own emulator: a 200 ms handshake timeout would also close a
// client whose handshake is slow on a busy machine.
func TestSilentClientsAreClosed(t *testing.T) {
	t.Parallel()
	cfg := config(allow(openPolicy...))
	cfg.HandshakeTimeout = 200 * time.Millisecond
	raw, err := net.Dial("tcp", start(t, cfg).Addr(emulator.Port443).String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := io.ReadAll(raw); err != nil {
		t.Fatalf("a client silent before the handshake was not closed: %v", err)
	}

	cfg = config(allow(openPolicy...))
	cfg.FirstPacketTimeout = 200 * time.Millisecond
	emu := start(t, cfg)
	conn, err := tls.Dial("tcp", emu.Addr(emulator.Port443).String(), emu.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("a client silent after the handshake was not closed: %v", err)
	}
	traceMentions(t, emu, "CONNECT")
}
