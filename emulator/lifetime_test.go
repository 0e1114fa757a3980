package emulator_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
)

// sequence answers each client's successive invocations with successive responses (the last
// one repeats), and records the connection IDs it saw.
type sequence struct {
	mu      sync.Mutex
	answers map[string][]events.IoTCoreCustomAuthorizerResponse
	calls   map[string]int
	ids     map[string][]string
}

func (s *sequence) handle(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.ProtocolData.MQTT.ClientID
	s.ids[id] = append(s.ids[id], req.ConnectionMetadata.ID)
	a := s.answers[id]
	n := min(s.calls[id], len(a)-1)
	s.calls[id]++
	return a[n], nil
}

func answer(refresh, disconnect uint32, statements ...events.IAMPolicyStatement) events.IoTCoreCustomAuthorizerResponse {
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true, PrincipalID: "p1",
		RefreshAfterInSeconds: refresh, DisconnectAfterInSeconds: disconnect,
		PolicyDocuments: []*events.IAMPolicyDocument{{Version: "2012-10-17", Statement: statements}},
	}
}

func startVirtual(t *testing.T, s *sequence) *emulator.Emulator {
	t.Helper()
	return emulator.NewTestWithOptions(t, config(s.handle), emulator.Options{Clock: clock.NewVirtual(time.Now())})
}

func newSequence(answers map[string][]events.IoTCoreCustomAuthorizerResponse) *sequence {
	return &sequence{answers: answers, calls: map[string]int{}, ids: map[string][]string{}}
}

// TestRefreshRemovingReceiveStopsDelivery: at refreshAfterInSeconds the new policy replaces
// the old at once, even for a subscription that already exists.
func TestRefreshRemovingReceiveStopsDelivery(t *testing.T) {
	t.Parallel()
	withReceive := answer(300, 0, openPolicy...)
	withoutReceive := answer(300, 0,
		statement("Allow", []string{"iot:Connect"}, arn("client/*")),
		statement("Allow", []string{"iot:Subscribe"}, arn("topicfilter/t/*")),
	)
	seq := newSequence(map[string][]events.IoTCoreCustomAuthorizerResponse{
		"listener": {withReceive, withoutReceive},
		"talker":   {answer(0, 0, openPolicy...)},
	})
	emu := startVirtual(t, seq)
	sub, err := newDevice(t, emu, "listener").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := sub.Subscribe("t/#", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub, err := newDevice(t, emu, "talker").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	pub.Publish("t/before", 1, false, "1").WaitTimeout(waitLong)
	select {
	case <-sub.received:
	case <-time.After(waitLong):
		t.Fatal("message before the refresh not delivered")
	}

	// The listener is idle: AWS may delay its refresh by up to 5 minutes.
	emu.Advance(300 * time.Second)
	emu.Advance(300 * time.Second)
	traceMentions(t, emu, "the refresh succeeded")
	seq.mu.Lock()
	ids := seq.ids["listener"]
	seq.mu.Unlock()
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("connection IDs sent for connect and refresh: %v; want the same twice", ids)
	}

	pub.Publish("t/after", 1, false, "2").WaitTimeout(waitLong)
	waitEvent(t, emu, "Publish-Out", "Failure", "clientId=listener", "topicName=t/after", "reason=AUTHORIZATION_FAILURE")
	select {
	case m := <-sub.received:
		t.Fatalf("delivered %s after the refresh took iot:Receive away", m.Topic())
	default:
	}
}

// TestFailedRefreshDisconnects: a refresh answered isAuthenticated false closes the connection.
func TestFailedRefreshDisconnects(t *testing.T) {
	t.Parallel()
	seq := newSequence(map[string][]events.IoTCoreCustomAuthorizerResponse{
		"r3": {answer(300, 0, openPolicy...), {IsAuthenticated: false}},
		"r5": {answer(300, 0, openPolicy...), {IsAuthenticated: false}},
	})
	emu := startVirtual(t, seq)
	c3, err := newDevice(t, emu, "r3").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	c5, _, err := newDevice(t, emu, "r5").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	emu.Advance(600 * time.Second) // due at 300 s, delayed up to 5 minutes on an idle connection
	c3.waitLost(t, "MQTT 3.1.1 client still connected after a failed refresh")
	select {
	case d := <-c5.disconnect:
		if d.ReasonCode != 0x87 {
			t.Errorf("MQTT 5 DISCONNECT reason %#x, want 0x87", d.ReasonCode)
		}
	case <-time.After(waitLong):
		t.Fatal("MQTT 5 client got no DISCONNECT after a failed refresh")
	}
	waitEvent(t, emu, "Disconnect", "Success", "clientId=r3", "disconnectReason=AUTH_ERROR")
	waitEvent(t, emu, "Disconnect", "Success", "clientId=r5", "disconnectReason=AUTH_ERROR")
}

// TestDisconnectAfterInSeconds: the connection is closed exactly at disconnectAfterInSeconds,
// not a second earlier.
func TestDisconnectAfterInSeconds(t *testing.T) {
	t.Parallel()
	seq := newSequence(map[string][]events.IoTCoreCustomAuthorizerResponse{
		"ttl3": {answer(0, 900, openPolicy...)},
		"ttl5": {answer(0, 900, openPolicy...)},
	})
	emu := startVirtual(t, seq)
	c3, err := newDevice(t, emu, "ttl3").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	c5, _, err := newDevice(t, emu, "ttl5").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	emu.Advance(899 * time.Second)
	if tok := c3.Publish("t/still-here", 1, false, "x"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("a second before disconnectAfterInSeconds the connection is gone: %v", tok.Error())
	}
	for _, e := range emu.Logs().Events() {
		if e.EventType == "Disconnect" {
			t.Fatalf("disconnected before its time: %+v", e)
		}
	}
	emu.Advance(time.Second)
	c3.waitLost(t, "MQTT 3.1.1 client still connected at disconnectAfterInSeconds")
	select {
	case d := <-c5.disconnect:
		if d.ReasonCode != 0xA0 {
			t.Errorf("MQTT 5 DISCONNECT reason %#x, want 0xA0 Maximum connect time", d.ReasonCode)
		}
	case <-time.After(waitLong):
		t.Fatal("MQTT 5 client got no DISCONNECT at disconnectAfterInSeconds")
	}
	waitEvent(t, emu, "Disconnect", "Success", "clientId=ttl3", "disconnectReason=CUSTOMAUTH_TTL_EXPIRATION")
}
