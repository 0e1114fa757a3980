package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestMQTT5ConnackProperties: CONNACK announces AWS IoT's capabilities.
func TestMQTT5ConnackProperties(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	_, ack, err := newDevice(t, emu, "props").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	p := ack.Properties
	if p == nil || p.MaximumQoS == nil || *p.MaximumQoS != 1 || !p.RetainAvailable ||
		p.MaximumPacketSize == nil || *p.MaximumPacketSize != 128*1024 || p.TopicAliasMaximum == nil || *p.TopicAliasMaximum != 8 ||
		p.SubIDAvailable || !p.SharedSubAvailable {
		t.Fatalf("CONNACK properties %+v", p)
	}
}

// TestSubscriptionLimits: at most 8 filters per SUBSCRIBE and 50 subscriptions per connection.
func TestSubscriptionLimits(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	c, _, err := newDevice(t, emu, "quota").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	subscribe := func(from, n int) []byte {
		var opts []paho.SubscribeOptions
		for i := range n {
			opts = append(opts, paho.SubscribeOptions{Topic: fmt.Sprintf("t/%d", from+i), QoS: 1})
		}
		ack, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts})
		if ack == nil {
			t.Fatalf("subscribe: %v", err)
		}
		return ack.Reasons
	}
	if got := subscribe(0, 9); got[7] != 1 || got[8] != 0x97 {
		t.Fatalf("SUBACK for 9 filters %v; want the 9th refused with 0x97", got)
	}
	for from := 8; from < 48; from += 8 {
		subscribe(from, 8)
	}
	if got := subscribe(48, 3); got[0] != 1 || got[1] != 1 || got[2] != 0x97 {
		t.Fatalf("SUBACK at the 50-subscription limit %v; want [1 1 0x97]", got)
	}
	waitEvent(t, emu, "Subscribe", "Failure", "clientId=quota", "topicName=t/50")
}

// TestReservedTopics: '$' topics other than $aws/... are refused.
func TestReservedTopics(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	c, err := newDevice(t, emu, "reserved").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	c.Publish("$SYS/broker", 0, false, "x")
	c.waitLost(t, "publish to a reserved topic accepted")
	traceMentions(t, emu, "reserved")
}

// TestRetainedOnlyToEqualFilter: a retained message reaches a later subscription to its exact
// topic, not one with a wildcard.
func TestRetainedOnlyToEqualFilter(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	pub, err := newDevice(t, emu, "retainer").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Publish("t/state", 1, true, "on"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	wild, err := newDevice(t, emu, "wild-sub").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	wild.Subscribe("t/#", 1, nil).WaitTimeout(waitLong)
	exact, err := newDevice(t, emu, "exact-sub").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	exact.Subscribe("t/state", 1, nil).WaitTimeout(waitLong)
	select {
	case m := <-exact.received:
		if string(m.Payload()) != "on" || !m.Retained() {
			t.Fatalf("got %q retained=%v", m.Payload(), m.Retained())
		}
	case <-time.After(waitLong):
		t.Fatal("retained message not delivered to the exact filter")
	}
	// The wildcard subscriber subscribed first; a live message proves its subscription works,
	// and that it is the first thing it receives proves the retained one never came.
	pub.Publish("t/live", 1, false, "x").WaitTimeout(waitLong)
	select {
	case m := <-wild.received:
		if m.Topic() != "t/live" {
			t.Fatalf("wildcard subscription received %s first; retained messages must not reach it", m.Topic())
		}
	case <-time.After(waitLong):
		t.Fatal("live message not delivered")
	}
}

// TestLifecycleEvents: connected, subscribed and disconnected events reach a subscriber
// allowed to receive them, with AWS's payload fields.
func TestLifecycleEvents(t *testing.T) {
	t.Parallel()
	h := allow(append(openPolicy,
		statement("Allow", []string{"iot:Subscribe"}, arn("topicfilter/$aws/events/*")),
		statement("Allow", []string{"iot:Receive"}, arn("topic/$aws/events/*")),
	)...)
	emu := start(t, config(h))
	watcher, err := newDevice(t, emu, "watcher").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	watcher.Subscribe("$aws/events/#", 1, nil).WaitTimeout(waitLong)
	dev, err := newDevice(t, emu, "dev-life").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	dev.Subscribe("t/x", 1, nil).WaitTimeout(waitLong)
	dev.Disconnect(100)

	want := []string{
		"$aws/events/presence/connected/dev-life",
		"$aws/events/subscriptions/subscribed/dev-life",
		"$aws/events/presence/disconnected/dev-life",
	}
	for _, topic := range want {
		select {
		case m := <-watcher.received:
			if strings.HasSuffix(m.Topic(), "/watcher") {
				// its own subscribed event
				m = <-watcher.received
			}
			if m.Topic() != topic {
				t.Fatalf("event on %s, want %s", m.Topic(), topic)
			}
			var p map[string]any
			if err := json.Unmarshal(m.Payload(), &p); err != nil {
				t.Fatal(err)
			}
			if p["clientId"] != "dev-life" || p["principalIdentifier"] != "principal1" || len(p["sessionIdentifier"].(string)) != 32 {
				t.Errorf("%s payload %s", topic, m.Payload())
			}
			if strings.Contains(topic, "disconnected") && (p["disconnectReason"] != "CLIENT_INITIATED_DISCONNECT" || p["clientInitiatedDisconnect"] != true) {
				t.Errorf("disconnected payload %s", m.Payload())
			}
			if strings.Contains(topic, "subscribed") && fmt.Sprint(p["topics"]) != "[t/x]" {
				t.Errorf("subscribed payload %s", m.Payload())
			}
		case <-time.After(waitLong):
			t.Fatalf("no %s event", topic)
		}
	}
}
