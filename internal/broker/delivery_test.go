package broker

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	pahomqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
)

const (
	pathRegion  = "us-east-1"
	pathAccount = "123456789012"
)

// fixedAuth answers every connection with one policy, as an authorizer would: the broker's
// message path, not custom authentication, is under test here.
type fixedAuth struct{ policy string }

func (a fixedAuth) Authenticate(_ context.Context, req customauth.Request) (*customauth.Result, error) {
	return &customauth.Result{PrincipalID: "tester", PolicyDocuments: []string{a.policy}, ConnectionID: req.ConnectionID, DisconnectAfter: 24 * time.Hour}, nil
}

// allowAll grants every action on every resource.
const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

// pathBroker runs a Broker behind a loopback listener on port 0 (see serveBroker).
func pathBroker(t *testing.T, policy string) (*Broker, *iotlog.Memory, string) {
	t.Helper()
	mem := iotlog.NewMemory()
	// A queue that holds every record of these tests, so that no log record is dropped (the
	// count is checked below) even when the log's goroutine is slow to run.
	log := iotlog.NewWithOptions(iotlog.Options{QueueLen: 1 << 17}, mem)
	t.Cleanup(log.Close)
	b, addr := serveBroker(t, Config{Region: pathRegion, AccountID: pathAccount, Auth: fixedAuth{policy}, Log: log})
	return b, mem, addr
}

// pahoClient connects a paho MQTT 3.1.1 client; readBuffer, when not 0, shrinks the socket's
// receive buffer so that a client that stops reading is felt at once.
func pahoClient(t *testing.T, addr, id string, readBuffer int, onMessage pahomqtt.MessageHandler) pahomqtt.Client {
	t.Helper()
	opts := pahomqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetKeepAlive(1200 * time.Second).SetAutoReconnect(false).SetOrderMatters(true).
		SetDefaultPublishHandler(onMessage).SetWriteTimeout(time.Minute).
		SetCustomOpenConnectionFn(func(uri *url.URL, _ pahomqtt.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", uri.Host)
			if err == nil && readBuffer > 0 {
				err = c.(*net.TCPConn).SetReadBuffer(readBuffer)
			}
			return c, err
		})
	c := pahomqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func pahoSubscribe(t *testing.T, c pahomqtt.Client, filter string, qos byte) {
	t.Helper()
	if tok := c.Subscribe(filter, qos, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
}

// outEvents returns the Publish-Out events of a client by topic.
func outEvents(mem *iotlog.Memory, clientID string) (success, failure map[string]int, reasons map[string]int) {
	success, failure, reasons = map[string]int{}, map[string]int{}, map[string]int{}
	for _, e := range mem.Events() {
		if e.EventType != iotlog.EventPublishOut || e.ClientID != clientID {
			continue
		}
		if e.Status == iotlog.StatusSuccess {
			success[e.TopicName]++
		} else {
			failure[e.TopicName]++
			reasons[e.Reason]++
		}
	}
	return success, failure, reasons
}

// waitOutEvents waits until n Publish-Out events of clientID are logged.
func waitOutEvents(t *testing.T, mem *iotlog.Memory, clientID string, n int) (success, failure, reasons map[string]int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		success, failure, reasons = outEvents(mem, clientID)
		if got := sum(success) + sum(failure); got >= n || time.Now().After(deadline) {
			if got != n {
				t.Fatalf("%d Publish-Out events for %s, want %d (one per message)", got, clientID, n)
			}
			return success, failure, reasons
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// A subscriber that stops reading must not stall a publisher (it did: mochi holds the
// subscriber's lock while it writes, and a QoS 1 delivery needs that lock), and each message
// it could not take is logged as a failed delivery, never also as a success.
func TestStuckSubscriberDoesNotStallPublisher(t *testing.T) {
	_, mem, addr := pathBroker(t, allowAll)
	release := make(chan struct{})
	stuck := pahoClient(t, addr, "stuck", 4096, func(pahomqtt.Client, pahomqtt.Message) { <-release })
	defer close(release)
	pahoSubscribe(t, stuck, "stuck/#", 1)

	pub := pahoClient(t, addr, "publisher", 0, nil)
	const n = 300
	payload := strings.Repeat("x", 32<<10) // 300 × 32 KiB: far more than the socket and the backlog hold
	var longest time.Duration              // reported, not asserted
	for i := range n {
		start := time.Now()
		tok := pub.Publish(fmt.Sprintf("stuck/%d", i), 1, false, payload)
		// Not a timing assertion: a stalled publisher waits for the subscriber's keep-alive
		// (30 minutes here), so a bound this loose only turns a hang into a failure.
		if !tok.WaitTimeout(20 * time.Second) {
			t.Fatalf("publish %d stalled behind the stuck subscriber", i)
		}
		if err := tok.Error(); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		longest = max(longest, time.Since(start))
	}
	t.Logf("longest wait for a PUBACK beside the stuck subscriber: %s", longest)
	success, failure, reasons := waitOutEvents(t, mem, "stuck", n)
	if len(failure) == 0 {
		t.Fatalf("no failed delivery logged for the stuck subscriber (%d successes)", len(success))
	}
	for topic := range failure {
		if success[topic] > 0 {
			t.Errorf("%s: logged as delivered and as failed", topic)
		}
	}
	if reasons[reasonThrottled] != sum(failure) {
		t.Errorf("failure reasons %v, want all %s", reasons, reasonThrottled)
	}
	if !stuck.IsConnectionOpen() {
		t.Error("the stuck subscriber was disconnected; its keep-alive has not run out")
	}
}

// Under overload, the deliveries logged as successful are exactly those the subscriber
// received: none logged before it is certain, none received without a log.
func TestOverloadLoggedDeliveriesEqualReceived(t *testing.T) {
	_, mem, addr := pathBroker(t, allowAll)
	var mu sync.Mutex
	received := map[string]int{}
	slow := pahoClient(t, addr, "slow", 32<<10, func(_ pahomqtt.Client, m pahomqtt.Message) {
		time.Sleep(200 * time.Microsecond) // a subscriber slower than its publishers
		mu.Lock()
		received[m.Topic()]++
		mu.Unlock()
	})
	pahoSubscribe(t, slow, "load/#", 0)

	const publishers, each = 4, 500
	payload := strings.Repeat("y", 4<<10)
	var wg sync.WaitGroup
	for p := range publishers {
		pub := pahoClient(t, addr, fmt.Sprintf("pub%d", p), 0, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				pub.Publish(fmt.Sprintf("load/%d/%d", p, i), 0, false, payload).Wait()
			}
		}()
	}
	wg.Wait()
	success, failure, _ := waitOutEvents(t, mem, "slow", publishers*each)
	// Everything logged as delivered arrives: wait for it, then compare topic by topic.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := sum(received)
		mu.Unlock()
		if got >= sum(success) || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if sum(received) != sum(success) {
		t.Fatalf("received %d messages, logged %d as delivered (%d as failed)", sum(received), sum(success), sum(failure))
	}
	for topic, n := range received {
		if success[topic] != n {
			t.Errorf("%s: received %d times, logged delivered %d times", topic, n, success[topic])
		}
	}
	t.Logf("%d published, %d delivered and logged, %d dropped and logged as failed", publishers*each, sum(success), sum(failure))
}

// With AWS's quotas emulated, a connection is sent at most OutboundPublishRate messages in
// any one-second window.
func TestOutboundPublishRate(t *testing.T) {
	r := rateLimiter{limit: OutboundPublishRate}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range OutboundPublishRate {
		if !r.allow(t0.Add(time.Duration(i) * time.Millisecond)) {
			t.Fatalf("message %d refused within the quota", i+1)
		}
	}
	if r.allow(t0.Add(999 * time.Millisecond)) {
		t.Fatalf("message %d in one second allowed", OutboundPublishRate+1)
	}
	if !r.allow(t0.Add(time.Second)) {
		t.Fatal("the next second's first message refused")
	}
}

// The topic a delivery event carries is the outbox's copy, never the packet's string, and a
// run of messages on one topic shares one copy.
func TestOutboxOwnsTopics(t *testing.T) {
	var o outbox
	buf := []byte("devices/one")
	pk := packets.Packet{TopicName: unsafe.String(&buf[0], len(buf)), PacketID: 1}
	o.encoding(&pk)
	first, ok := o.sent(&pk)
	if !ok || first != "devices/one" || unsafe.StringData(first) == &buf[0] {
		t.Fatalf("sent topic %q (found %v) shares the packet's buffer", first, ok)
	}
	copy(buf, "XXXXXXXXXXX")
	if first != "devices/one" {
		t.Fatalf("topic changed with the packet's buffer: %q", first)
	}
	again := []byte("devices/one")
	pk2 := packets.Packet{TopicName: unsafe.String(&again[0], len(again)), PacketID: 2}
	o.encoding(&pk2)
	second, _ := o.sent(&pk2)
	if unsafe.StringData(second) != unsafe.StringData(first) {
		t.Error("a second message on the same topic got another copy")
	}
}

// TestMochiKeepsNoConnectBuffer checks that mochi's client keeps the session's copies of the
// CONNECT's client ID and password and no username, so that the packet's buffer is not kept
// for the connection's life.
func TestMochiKeepsNoConnectBuffer(t *testing.T) {
	b, _, addr := pathBroker(t, allowAll)
	for _, v := range []byte{4, 5} {
		id := fmt.Sprintf("keeps-no-buffer-%d", v)
		rc := dialRaw(t, addr, v)
		rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{
			Clean: true, Keepalive: 60, ClientIdentifier: id,
			UsernameFlag: true, Username: []byte("user?token=abc"), PasswordFlag: true, Password: []byte("secret"),
		}})
		if pk, err := rc.read(t); err != nil || pk.FixedHeader.Type != packets.Connack || pk.ReasonCode != 0 {
			t.Fatalf("MQTT %d: CONNECT answered %+v, %v", v, pk.FixedHeader, err)
		}
		cl, ok := b.server.Clients.Get(id)
		if !ok {
			t.Fatalf("MQTT %d: mochi has no client %q", v, id)
		}
		s := sessionOf(cl)
		if cl.ID != id || unsafe.StringData(cl.ID) != unsafe.StringData(s.ClientID) {
			t.Errorf("MQTT %d: mochi's client ID %q is not the session's copy", v, cl.ID)
		}
		if cl.Properties.Username != nil {
			t.Errorf("MQTT %d: mochi keeps the username %q", v, cl.Properties.Username)
		}
		if string(s.password) != "secret" || s.username != "user?token=abc" {
			t.Errorf("MQTT %d: session has username %q, password %q", v, s.username, s.password)
		}
	}
}
