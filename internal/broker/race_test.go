package broker

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// raceRounds is the number of SUBSCRIBE rounds per case of TestSubscribeVerdictRace
// (IOTEMU_RACE_ROUNDS overrides it).
func raceRounds(t *testing.T) int {
	if v := os.Getenv("IOTEMU_RACE_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("IOTEMU_RACE_ROUNDS: %v", err)
		}
		return n
	}
	return 2000
}

// mqtt5Client connects a paho MQTT 5 client.
func mqtt5Client(t *testing.T, addr, id string, onPublish func(paho.PublishReceived) (bool, error)) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := paho.ClientConfig{ClientID: id, Conn: conn}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 1200, CleanStart: true}); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("connect %s: %v %v", id, ack, err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

// subscribeCode subscribes to filter and returns the SUBACK's reason code.
func subscribeCode(t *testing.T, c *paho.Client, filter string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if err != nil && ack == nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return ack.Reasons[0]
}

// mochi asks OnACLCheck(topic, write=false) both for a SUBSCRIBE filter and for a delivery.
// A subscriber here holds a wildcard subscription, so that every message published on race/x
// is a delivery check for it, while it subscribes to race/x itself again and again; iot:Subscribe
// and iot:Receive are granted differently on race/x, so a verdict given to the wrong question
// shows: as a SUBACK code, as a message received or missing, or as a Publish-Out failure.
func TestSubscribeVerdictRace(t *testing.T) {
	rounds := raceRounds(t)
	arn := func(kind string) string {
		return fmt.Sprintf("arn:aws:iot:%s:%s:%s/race/x", pathRegion, pathAccount, kind)
	}
	deny := func(action, resource string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"},` +
			`{"Effect":"Deny","Action":"` + action + `","Resource":"` + resource + `"}]}`
	}
	for _, tc := range []struct {
		name   string
		policy string
		// subscribeOK is the verdict on SUBSCRIBE race/x; receiveOK on delivering race/x.
		subscribeOK, receiveOK bool
	}{
		{"subscribe granted, receive denied", deny("iot:Receive", arn("topic")), true, false},
		{"subscribe denied, receive granted", deny("iot:Subscribe", arn("topicfilter")), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, mem, addr := pathBroker(t, tc.policy)
			judged := &outJudged{clientID: "subscriber", signal: make(chan struct{}, 1)}
			t.Cleanup(b.cfg.Log.Subscribe(judged))
			var received atomic.Int64
			sub := mqtt5Client(t, addr, "subscriber", func(paho.PublishReceived) (bool, error) {
				received.Add(1)
				return true, nil
			})
			if code := subscribeCode(t, sub, "race/+"); code != 1 {
				t.Fatalf("SUBACK for race/+: %#x", code)
			}

			// The publisher publishes QoS 1 on race/x, one message in flight at a time, until
			// the subscriber's rounds are over. In flight means until the subscriber's delivery
			// is judged and logged, not only until the PUBACK: mochi writes the PUBACK before it
			// routes the message, and a delivery is only queued for the subscriber's writer, so a
			// publisher that waited for the PUBACK alone could run ahead of a writer starved under
			// load until its queue (maxWritesPending) was full; the drops, rightly logged as
			// THROTTLED, were then counted here as wrong verdicts.
			pub := mqtt5Client(t, addr, "publisher", nil)
			stop := make(chan struct{})
			var published atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err := pub.Publish(ctx, &paho.Publish{Topic: "race/x", QoS: 1, Payload: []byte("m")})
					cancel()
					if err != nil {
						t.Errorf("publish: %v", err)
						return
					}
					if !judged.wait(published.Add(1)) {
						t.Errorf("no Publish-Out event for message %d", published.Load())
						return
					}
				}
			}()

			// The SUBACK code for race/x is exactly the policy's, whatever the deliveries in
			// flight: granted QoS 1, or 0x87 (not authorized).
			want := byte(1)
			if !tc.subscribeOK {
				want = packets.ErrNotAuthorized.Code
			}
			wrong := 0
			codes := map[byte]int{} // SUBACK codes for race/x, for the summary
			for range rounds {
				code := subscribeCode(t, sub, "race/x")
				codes[code]++
				if code != want {
					wrong++
					t.Errorf("SUBACK for race/x: %#x, want %#x", code, want)
				}
				if code < 0x80 {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					ack, err := sub.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"race/x"}})
					cancel()
					if err != nil && ack == nil {
						t.Fatalf("unsubscribe: %v", err)
					}
					if ack.Reasons[0] != packets.CodeSuccess.Code {
						t.Fatalf("UNSUBACK for race/x: %#x", ack.Reasons[0])
					}
				}
			}
			close(stop)
			wg.Wait()

			// Every message published produced one delivery check for the subscriber; its
			// Publish-Out events say how each was judged.
			n := int(published.Load())
			success, failure, reasons := waitOutEvents(t, mem, "subscriber", n)
			if tc.receiveOK {
				wrong += sum(failure)
				if got := waitReceived(&received, n); got != int64(n) {
					t.Errorf("received %d of %d messages", got, n)
				}
			} else {
				wrong += sum(success)
				if reasons[iotlog.ReasonAuthorizationFailure] != n {
					t.Errorf("failure reasons %v, want %d %s", reasons, n, iotlog.ReasonAuthorizationFailure)
				}
				if got := received.Load(); got != 0 {
					t.Errorf("received %d messages on a topic the policy denies receiving", got)
				}
			}
			t.Logf("%d SUBSCRIBE rounds against %d deliveries: %d wrong verdicts; SUBACK codes %v, failures %v", rounds, n, wrong, codes, reasons)
			if wrong != 0 {
				t.Fail()
			}
		})
	}
}

// outJudged is a log sink that counts the Publish-Out events of one client: each delivery's
// verdict, logged as a success or a failure.
type outJudged struct {
	clientID string
	n        atomic.Int64
	signal   chan struct{} // one pending wake-up for wait
}

func (o *outJudged) WriteEvent(e iotlog.Event) {
	if e.EventType != iotlog.EventPublishOut || e.ClientID != o.clientID {
		return
	}
	o.n.Add(1)
	select {
	case o.signal <- struct{}{}:
	default:
	}
}

func (*outJudged) WriteTrace(iotlog.Trace)               {}
func (*outJudged) WriteFunctionLine(iotlog.FunctionLine) {}

// wait waits until n Publish-Out events were logged, and says whether they were. The bound
// only turns a lost event into a failure instead of a hang.
func (o *outJudged) wait(n int64) bool {
	deadline := time.After(30 * time.Second)
	for o.n.Load() < n {
		select {
		case <-o.signal:
		case <-deadline:
			return false
		}
	}
	return true
}

// waitReceived waits until n messages were received, and returns how many were.
func waitReceived(received *atomic.Int64, n int) int64 {
	for deadline := time.Now().Add(30 * time.Second); received.Load() < int64(n) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return received.Load()
}
