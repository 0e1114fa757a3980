package emulator_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/iotlog"
)

// rawConnect sends one MQTT 3.1.1 CONNECT over TLS with ALPN mqtt and reads until the
// emulator closes the connection.
func rawConnect(t *testing.T, emu *emulator.Emulator, clientID, username string, password []byte) {
	t.Helper()
	conf := emu.ClientTLSConfig()
	c, err := tls.Dial("tcp", emu.Addr(emulator.Port443).String(), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: clientID, Keepalive: 30, Clean: true,
			UsernameFlag: true, Username: []byte(username), PasswordFlag: password != nil, Password: password},
	}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	_, _ = io.Copy(io.Discard, c) // AWS closes a refused 3.1.1 connection without CONNACK
}

// TestLogMemoryBoundedWithHugeFields: unauthenticated CONNECTs with 65 KB fields (client ID,
// username, password) keep the in-memory log under its byte bound; each field is capped.
func TestLogMemoryBoundedWithHugeFields(t *testing.T) {
	t.Parallel()
	const limit = 4 << 20
	emu := emulator.NewTestWithOptions(t, config(allow(openPolicy...)), emulator.Options{LogMemoryBytes: limit})
	huge := strings.Repeat("x", 65<<10)
	for i := range 150 {
		switch i % 3 {
		case 0: // refused before authentication: the client ID is over AWS's 128 bytes
			rawConnect(t, emu, fmt.Sprintf("%d-%s", i, huge), username(t, goodToken), nil)
		case 1: // a huge username: the authorizer is not found
			rawConnect(t, emu, fmt.Sprintf("huge-user-%d", i), "u?x-amz-customauthorizer-name="+huge, nil)
		case 2: // the function gets a huge username and password (within the 128 KB packet), and says no
			rawConnect(t, emu, fmt.Sprintf("huge-pass-%d", i), username(t, "wrong")+"&pad="+huge[:60<<10], []byte(huge[:60<<10]))
		}
		if b := emu.Logs().Bytes(); b > limit+limit/8 {
			t.Fatalf("after %d CONNECTs of 65 KB the log holds %d bytes, over its bound of %d", i+1, b, limit)
		}
	}
	evs := emu.Logs().Events()
	last := evs[len(evs)-1]
	if last.ClientID != "huge-pass-149" {
		t.Errorf("the newest event is %s %s of %q", last.EventType, last.Status, last.ClientID)
	}
	for _, e := range evs {
		if len(e.ClientID) > iotlog.MaxFieldLen+64 || len(e.Details) > iotlog.MaxFieldLen+64 {
			t.Fatalf("an event kept a %d-byte client ID, %d-byte details", len(e.ClientID), len(e.Details))
		}
	}
}

// TestLogPinsNoPacketBuffer: after 12,000 messages of 127 KB (published, delivered, logged)
// and every client gone, the heap comes back to within 50 MB of where it started: the log
// keeps copies of the topic strings, never the packets they were read from. (A log that kept
// mochi's topic strings held 1.5 GB here.) Under the race detector, which makes it several
// times slower, it sends 1,000 messages: a packet pinned per event would still keep 250 MB.
func TestLogPinsNoPacketBuffer(t *testing.T) {
	messages := 12000
	if raceEnabled || testing.Short() {
		messages = 1000
	}
	emu := start(t, config(allow(openPolicy...)))
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()

	sub, err := newDevice(t, emu, "heap-sub").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan struct{}, 16)
	if tok := sub.Subscribe("t/heap/#", 0, func(pahov3.Client, pahov3.Message) { received <- struct{}{} }); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub, err := newDevice(t, emu, "heap-pub").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("p"), 127<<10)
	const window = 32
	got := 0
	drain := func() {
		for {
			select {
			case <-received:
				got++
			default:
				return
			}
		}
	}
	// QoS 1 with up to window PUBACKs outstanding: every publish is acknowledged, so every
	// Publish-In is logged.
	var inflight []pahov3.Token
	for i := range messages {
		inflight = append(inflight, pub.Publish(fmt.Sprintf("t/heap/%d", i), 1, false, payload))
		if len(inflight) == window || i == messages-1 {
			for _, tok := range inflight {
				if !tok.WaitTimeout(waitLong) || tok.Error() != nil {
					t.Fatalf("publish: %v", tok.Error())
				}
			}
			inflight = inflight[:0]
		}
		drain()
	}
	// The subscriber's QoS 0 deliveries are not all guaranteed under load; what matters here
	// is that each one logged is a copy.
	for deadline := time.After(waitLong); got < messages; {
		select {
		case <-received:
			got++
		case <-deadline:
			t.Logf("received %d of %d messages", got, messages)
			got = messages
		}
	}
	pub.Disconnect(0)
	sub.Disconnect(0)
	waitEvent(t, emu, iotlog.EventDisconnect, iotlog.StatusSuccess, "clientId=heap-pub")
	waitEvent(t, emu, iotlog.EventDisconnect, iotlog.StatusSuccess, "clientId=heap-sub")

	after := heap()
	if n := len(emu.Logs().Events()); n < messages {
		t.Errorf("the log holds %d events, want at least the %d Publish-In", n, messages)
	}
	if after > before+50<<20 {
		t.Errorf("heap %d MB after the run, %d MB before: more than 50 MB kept", after>>20, before>>20)
	}
	t.Logf("heap %d MB before, %d MB after", before>>20, after>>20)
}
