package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/eclipse/paho.golang/paho"
)

func TestPublishDenied(t *testing.T) {
	t.Parallel()
	h := allow(
		statement("Allow", []string{"iot:Connect"}, arn("client/*")),
		statement("Allow", []string{"iot:Publish"}, arn("topic/allowed")),
	)
	emu := start(t, config(h))

	t.Run("3.1.1 is disconnected", func(t *testing.T) {
		c, err := newDevice(t, emu, "pub-v3").connectV3(t)
		if err != nil {
			t.Fatal(err)
		}
		c.Publish("denied", 1, false, "x")
		c.waitLost(t, "connection not closed after a denied publish")
		waitEvent(t, emu, "Publish-In", "Failure", "clientId=pub-v3", "topicName=denied", "reason=AUTHORIZATION_FAILURE")
		waitEvent(t, emu, "Disconnect", "Success", "clientId=pub-v3", "disconnectReason=AUTH_ERROR")
	})
	t.Run("5 gets PUBACK 0x87 and stays", func(t *testing.T) {
		c, _, err := newDevice(t, emu, "pub-v5").connectV5(t)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		resp, err := c.Publish(ctx, &paho.Publish{Topic: "denied", QoS: 1, Payload: []byte("x")})
		if resp == nil || resp.ReasonCode != 0x87 {
			t.Fatalf("PUBACK = %+v, %v; want reason 0x87", resp, err)
		}
		if resp, err := c.Publish(ctx, &paho.Publish{Topic: "allowed", QoS: 1, Payload: []byte("x")}); err != nil || resp.ReasonCode != 0 {
			t.Fatalf("allowed publish after a denied one: %+v, %v", resp, err)
		}
		waitEvent(t, emu, "Publish-In", "Failure", "clientId=pub-v5", "topicName=denied", "reason=AUTHORIZATION_FAILURE")
	})
	traceMentions(t, emu, "iot:Publish", "denied")
}

func TestRetainPublishDenied(t *testing.T) {
	t.Parallel()
	h := allow(
		statement("Allow", []string{"iot:Connect"}, arn("client/*")),
		statement("Allow", []string{"iot:Publish"}, arn("topic/t/*")),
	)
	emu := start(t, config(h))
	c, _, err := newDevice(t, emu, "retain-v5").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if resp, err := c.Publish(ctx, &paho.Publish{Topic: "t/a", QoS: 1, Payload: []byte("x")}); err != nil || resp.ReasonCode != 0 {
		t.Fatalf("publish without retain: %+v, %v", resp, err)
	}
	resp, err := c.Publish(ctx, &paho.Publish{Topic: "t/a", QoS: 1, Retain: true, Payload: []byte("x")})
	if resp == nil || resp.ReasonCode != 0x87 {
		t.Fatalf("retained publish: %+v, %v; want PUBACK 0x87", resp, err)
	}
	waitEvent(t, emu, "Publish-In", "Failure", "clientId=retain-v5", "reason=AUTHORIZATION_FAILURE")
	traceMentions(t, emu, "iot:RetainPublish")
}

// TestSubscribeOnTopicInsteadOfTopicfilter reproduces the common mistake of granting
// iot:Subscribe on topic/... instead of topicfilter/....
func TestSubscribeOnTopicInsteadOfTopicfilter(t *testing.T) {
	t.Parallel()
	h := allow(
		statement("Allow", []string{"iot:Connect"}, arn("client/*")),
		statement("Allow", []string{"iot:Subscribe", "iot:Receive"}, arn("topic/sensors/*")),
	)
	emu := start(t, config(h))
	t.Run("5 gets SUBACK 0x87", func(t *testing.T) {
		c, _, err := newDevice(t, emu, "sub-v5").connectV5(t)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		ack, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "sensors/1", QoS: 1}}})
		if ack == nil || len(ack.Reasons) != 1 || ack.Reasons[0] != 0x87 {
			t.Fatalf("SUBACK = %+v, %v; want [0x87]", ack, err)
		}
		waitEvent(t, emu, "Subscribe", "Failure", "clientId=sub-v5", "topicName=sensors/1", "reason=AUTHORIZATION_FAILURE")
	})
	t.Run("3.1.1 is disconnected", func(t *testing.T) {
		c, err := newDevice(t, emu, "sub-v3").connectV3(t)
		if err != nil {
			t.Fatal(err)
		}
		c.Subscribe("sensors/1", 1, nil)
		c.waitLost(t, "connection not closed after a denied subscribe")
		waitEvent(t, emu, "Disconnect", "Success", "clientId=sub-v3", "disconnectReason=AUTH_ERROR")
	})
	traceMentions(t, emu, "iot:Subscribe", "topicfilter/sensors/1")
}

func TestReceiveDenied(t *testing.T) {
	t.Parallel()
	h := func(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		st := []events.IAMPolicyStatement{
			statement("Allow", []string{"iot:Connect"}, arn("client/*")),
			statement("Allow", []string{"iot:Publish"}, arn("topic/t/*")),
			statement("Allow", []string{"iot:Subscribe"}, arn("topicfilter/t/*")),
		}
		if req.ProtocolData.MQTT.ClientID == "receiver" {
			st = append(st, statement("Allow", []string{"iot:Receive"}, arn("topic/t/open")))
		}
		return allow(st...)(ctx, req)
	}
	emu := start(t, config(h))
	sub, err := newDevice(t, emu, "receiver").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := sub.Subscribe("t/#", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub, err := newDevice(t, emu, "sender").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	pub.Publish("t/closed", 1, false, "secret").WaitTimeout(waitLong)
	pub.Publish("t/open", 1, false, "hello").WaitTimeout(waitLong)
	select {
	case m := <-sub.received:
		if m.Topic() != "t/open" {
			t.Fatalf("received %s, which the policy does not let it receive", m.Topic())
		}
	case <-time.After(waitLong):
		t.Fatal("allowed message not delivered")
	}
	waitEvent(t, emu, "Publish-Out", "Failure", "clientId=receiver", "topicName=t/closed", "reason=AUTHORIZATION_FAILURE")
	traceMentions(t, emu, "iot:Receive", "topic/t/closed")
}

// TestWildcards: in a policy '*' crosses topic levels, and MQTT's '+' is a literal character.
func TestWildcards(t *testing.T) {
	t.Parallel()
	h := allow(
		statement("Allow", []string{"iot:Connect"}, arn("client/*")),
		statement("Allow", []string{"iot:Publish"}, arn("topic/star/*"), arn("topic/plus/+")),
	)
	emu := start(t, config(h))
	c, _, err := newDevice(t, emu, "wild").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for topic, want := range map[string]byte{
		"star/a/b/c": 0,    // '*' crosses levels
		"plus/a":     0x87, // '+' is not a wildcard in a policy
	} {
		resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("x")})
		if resp == nil || resp.ReasonCode != want {
			t.Errorf("publish %s: %+v, %v; want reason %#x", topic, resp, err, want)
		}
	}
}

// TestClientIDVariable: ${iot:ClientId} lets each device connect and publish only as itself.
func TestClientIDVariable(t *testing.T) {
	t.Parallel()
	h := allow(
		statement("Allow", []string{"iot:Connect"}, arn("client/${iot:ClientId}")),
		statement("Allow", []string{"iot:Publish"}, arn("topic/devices/${iot:ClientId}/*")),
	)
	emu := start(t, config(h))
	c, _, err := newDevice(t, emu, "thing-7").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if resp, err := c.Publish(ctx, &paho.Publish{Topic: "devices/thing-7/state", QoS: 1, Payload: []byte("x")}); err != nil || resp.ReasonCode != 0 {
		t.Errorf("publish to its own topic: %+v, %v", resp, err)
	}
	if resp, _ := c.Publish(ctx, &paho.Publish{Topic: "devices/thing-8/state", QoS: 1, Payload: []byte("x")}); resp == nil || resp.ReasonCode != 0x87 {
		t.Errorf("publish to another device's topic: %+v; want 0x87", resp)
	}
}

func TestExplicitDenyWins(t *testing.T) {
	t.Parallel()
	h := allow(
		statement("Allow", []string{"iot:*"}, "*"),
		statement("Deny", []string{"iot:Publish"}, arn("topic/admin/*")),
	)
	emu := start(t, config(h))
	c, _, err := newDevice(t, emu, "deny").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if resp, _ := c.Publish(ctx, &paho.Publish{Topic: "admin/reboot", QoS: 1, Payload: []byte("x")}); resp == nil || resp.ReasonCode != 0x87 {
		t.Errorf("publish under an explicit Deny: %+v; want 0x87", resp)
	}
	traceMentions(t, emu, "Deny")
}

// TestMessageGoesRound is the happy path with both protocol versions.
func TestMessageGoesRound(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	sub, _, err := newDevice(t, emu, "sub5").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if ack, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/+", QoS: 1}}}); err != nil || ack.Reasons[0] != 1 {
		t.Fatalf("subscribe: %+v, %v", ack, err)
	}
	pub, err := newDevice(t, emu, "pub3").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Publish("t/x", 1, false, "hello"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-sub.received:
		if m.Topic != "t/x" || string(m.Payload) != "hello" {
			t.Fatalf("got %s %q", m.Topic, m.Payload)
		}
	case <-time.After(waitLong):
		t.Fatal("message not delivered")
	}
	waitEvent(t, emu, "Publish-Out", "Success", "clientId=sub5", "topicName=t/x")
	waitEvent(t, emu, "Subscribe", "Success", "clientId=sub5", "topicName=t/+")
}
