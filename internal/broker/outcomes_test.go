package broker

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/gateway"
)

// limitedPolicy allows connecting, publishing and subscribing under allowed/ only.
const limitedPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
 {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"arn:aws:iot:us-east-1:123456789012:topic/allowed/*"},
 {"Effect":"Allow","Action":"iot:Subscribe","Resource":"arn:aws:iot:us-east-1:123456789012:topicfilter/allowed/*"}]}`

// authFunc is an Authenticator made of a function.
type authFunc func(customauth.Request) (*customauth.Result, error)

func (f authFunc) Authenticate(_ context.Context, req customauth.Request) (*customauth.Result, error) {
	return f(req)
}

// outcomeBroker runs a Broker with auth on clk behind a loopback listener and returns the
// listener's address.
func outcomeBroker(t *testing.T, auth Authenticator, clk clock.Clock) string {
	t.Helper()
	_, addr := serveBroker(t, Config{Region: "us-east-1", AccountID: "123456789012", Auth: auth, Clock: clk, Log: iotlog.New(iotlog.NewMemory())})
	return addr
}

// serveBroker runs a Broker with cfg behind a loopback listener on port 0 and returns it
// with the listener's address. The gateway's TLS is not what the package's tests are about:
// connections reach the broker as the gateway hands them over, on the 443 role with ALPN mqtt.
func serveBroker(t *testing.T, cfg Config) (*Broker, string) {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			remote := c.RemoteAddr().(*net.TCPAddr).AddrPort()
			info := gateway.ConnInfo{Role: gateway.Role443, ALPN: gateway.ALPNMQTT, Remote: netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())}
			wg.Go(func() { b.ServeConn(&gateway.Conn{Conn: c, Info: info}) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		b.Close()
		wg.Wait()
	})
	return b, ln.Addr().String()
}

// rawClient speaks MQTT packet by packet, so that a test sees exactly what the broker sends,
// or that it closed the connection without a packet.
type rawClient struct {
	c net.Conn
	r *bufio.Reader
	v byte // protocol version: 4 (3.1.1) or 5
}

func dialRaw(t *testing.T, addr string, v byte) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, r: bufio.NewReader(c), v: v}
}

func (rc *rawClient) send(t *testing.T, pk packets.Packet) {
	t.Helper()
	pk.ProtocolVersion = rc.v
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		pk.Connect.ProtocolName = []byte("MQTT")
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	default:
		t.Fatalf("cannot send packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// errClosed is what read returns when the broker closed the connection.
var errClosed = errors.New("connection closed")

// read returns the next packet, or errClosed.
func (rc *rawClient) read(t *testing.T) (packets.Packet, error) {
	t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var pk packets.Packet
	pk.ProtocolVersion = rc.v
	first, err := rc.r.ReadByte()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the broker neither answered nor closed the connection")
		}
		return pk, errClosed
	}
	if err := pk.FixedHeader.Decode(first); err != nil {
		t.Fatal(err)
	}
	n, _, err := packets.DecodeLength(rc.r)
	if err != nil {
		return pk, errClosed
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		return pk, errClosed
	}
	pk.FixedHeader.Remaining = n
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Unsuback:
		err = pk.UnsubackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pk, nil
}

// connect sends CONNECT and returns what the broker answered.
func (rc *rawClient) connect(t *testing.T, id string) (packets.Packet, error) {
	t.Helper()
	rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: id}})
	return rc.read(t)
}

// observe turns what the broker did next into an Outcome.
func (rc *rawClient) observe(t *testing.T) Outcome {
	t.Helper()
	pk, err := rc.read(t)
	if err != nil {
		return Outcome{Action: Close}
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		return Outcome{Action: Connack, Code: packets.Code{Code: pk.ReasonCode}}
	case packets.Disconnect:
		return Outcome{Action: Disconnect, Code: packets.Code{Code: pk.ReasonCode}}
	case packets.Puback:
		return Outcome{Action: AckCode, Code: packets.Code{Code: pk.ReasonCode}}
	case packets.Suback:
		return Outcome{Action: AckCode, Code: packets.Code{Code: pk.ReasonCodes[len(pk.ReasonCodes)-1]}}
	}
	t.Fatalf("unexpected packet type %d", pk.FixedHeader.Type)
	return Outcome{}
}

// TestOutcomeTable drives each refusal case over a real socket with MQTT 3.1.1 and 5 and
// checks that the device sees what the Outcomes table says for it.
func TestOutcomeTable(t *testing.T) {
	subscribe := func(filters ...string) packets.Packet {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 7}
		for _, f := range filters {
			pk.Filters = append(pk.Filters, packets.Subscription{Filter: f, Qos: 1})
		}
		return pk
	}
	publish := func(topic string, qos byte) packets.Packet {
		return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, TopicName: topic, Payload: []byte("x"), PacketID: 9}
	}
	var nineFilters []string
	for i := range MaxSubscribeFilters + 1 {
		nineFilters = append(nineFilters, fmt.Sprintf("allowed/%d", i))
	}
	for _, tc := range []struct {
		c        Case
		clientID string        // default "device"
		refuse   bool          // the authorizer refuses at CONNECT
		life     time.Duration // DisconnectAfter (default a day)
		refresh  bool          // RefreshAfter 5 min, and the refresh fails
		trigger  *packets.Packet
		advance  time.Duration
	}{
		{c: ConnectRefused, refuse: true},
		{c: ClientIDInvalid, clientID: strings.Repeat("c", MaxClientIDLen+1)},
		{c: PublishDenied, trigger: ptr(publish("denied/t", 1))},
		{c: SubscribeDenied, trigger: ptr(subscribe("denied/#"))},
		{c: PublishQoS2, trigger: ptr(publish("allowed/t", 2))},
		{c: TopicInvalid, trigger: ptr(publish("allowed/"+strings.Repeat("a/", MaxTopicSlashes)+"z", 1))},
		{c: SubscriptionQuota, trigger: ptr(subscribe(nineFilters...))},
		{c: ConnectionExpired, life: time.Hour, advance: time.Hour},
		{c: RefreshFailed, refresh: true, advance: 5*time.Minute + idleRefreshDelay}, // an idle connection's refresh waits
	} {
		for i, v := range []byte{4, 5} {
			t.Run(fmt.Sprintf("case %d MQTT %d", tc.c, v), func(t *testing.T) {
				t.Parallel()
				clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				var calls atomic.Int32
				auth := authFunc(func(req customauth.Request) (*customauth.Result, error) {
					if tc.refuse || (tc.refresh && calls.Add(1) > 1) {
						return nil, errors.New("denied by the test")
					}
					res := &customauth.Result{PrincipalID: "p", ConnectionID: req.ConnectionID, PolicyDocuments: []string{limitedPolicy}, DisconnectAfter: cmp.Or(tc.life, 24*time.Hour)}
					if tc.refresh {
						res.RefreshAfter = 5 * time.Minute
					}
					return res, nil
				})
				rc := dialRaw(t, outcomeBroker(t, auth, clk), v)
				want := Outcomes[tc.c][i]
				var got Outcome
				if tc.refuse || tc.clientID != "" {
					rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: cmp.Or(tc.clientID, "device")}})
					got = rc.observe(t)
				} else {
					if pk, err := rc.connect(t, "device"); err != nil || pk.ReasonCode != 0 {
						t.Fatalf("connect: %v %v", pk, err)
					}
					if tc.trigger != nil {
						rc.send(t, *tc.trigger)
					}
					if tc.advance > 0 {
						clk.Advance(tc.advance)
					}
					got = rc.observe(t)
				}
				if got.Action != want.Action || (want.Action != Close && got.Code.Code != want.Code.Code) {
					t.Fatalf("the device saw %+v; the table says %+v", got, want)
				}
				if want.Action == Connack || want.Action == Disconnect {
					if _, err := rc.read(t); err != errClosed {
						t.Fatalf("the connection stayed open after %+v", got)
					}
				}
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }
