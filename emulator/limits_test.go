package emulator_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestDuplicateClientID: a second connection with the same client ID disconnects the first.
func TestDuplicateClientID(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	first, err := newDevice(t, emu, "dup").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "dup").connectV3(t); err != nil {
		t.Fatal(err)
	}
	first.waitLost(t, "the older connection was not disconnected")
	waitEvent(t, emu, "Disconnect", "Success", "clientId=dup", "disconnectReason=DUPLICATE_CLIENTID")
}

// TestKeepAliveClamped: MQTT 5 clients are told the keep-alive AWS applies.
func TestKeepAliveClamped(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	for asked, want := range map[uint16]uint16{5: 30, 0: 1200, 1201: 1200} {
		d := newDevice(t, emu, "ka")
		ack, err := d.connectV5KeepAlive(t, asked)
		if err != nil {
			t.Fatal(err)
		}
		if ack.Properties == nil || ack.Properties.ServerKeepAlive == nil || *ack.Properties.ServerKeepAlive != want {
			t.Errorf("keep-alive %d: CONNACK Server Keep Alive = %v, want %d", asked, ack.Properties.ServerKeepAlive, want)
		}
	}
	ack, err := newDevice(t, emu, "ka-ok").connectV5KeepAlive(t, 60)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Properties.ServerKeepAlive != nil {
		t.Errorf("keep-alive 60 in range, but CONNACK overrides it with %d", *ack.Properties.ServerKeepAlive)
	}
}

func TestClientIDTooLong(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	id := strings.Repeat("c", 129)
	if _, ack, err := newDevice(t, emu, id).connectV5(t); err == nil || ack == nil || ack.ReasonCode != 0x85 {
		t.Errorf("MQTT 5: CONNACK %+v, %v; want 0x85 Client Identifier not valid", ack, err)
	}
	if _, err := newDevice(t, emu, id).connectV3(t); err == nil || !strings.Contains(err.Error(), "identifier rejected") {
		t.Errorf("MQTT 3.1.1: %v; want CONNACK identifier rejected", err)
	}
	if _, err := newDevice(t, emu, id[:128]).connectV3(t); err != nil {
		t.Errorf("a 128-byte client ID is allowed: %v", err)
	}
}

// TestQoS2IsNotAcknowledged: AWS never acknowledges QoS 2; the connection is closed.
func TestQoS2IsNotAcknowledged(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	c, err := newDevice(t, emu, "qos2").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Publish("t/q", 2, false, "x")
	c.waitLost(t, "connection not closed after a QoS 2 publish")
	if tok.WaitTimeout(100*time.Millisecond) && tok.Error() == nil {
		t.Error("QoS 2 publish was acknowledged")
	}
	waitEvent(t, emu, "Publish-In", "Failure", "clientId=qos2", "topicName=t/q")
}

// TestQoS2SubscribeIsNotAcknowledged: "The AWS IoT Core message broker doesn't send a PUBACK
// or SUBACK when QoS 2 is requested": a SUBSCRIBE asking for QoS 2 gets no SUBACK; the
// connection is closed (MQTT 5: DISCONNECT 0x9B QoS not supported).
func TestQoS2SubscribeIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	c3, err := newDevice(t, emu, "sub-qos2-v3").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	tok := c3.Subscribe("t/q", 2, nil)
	c3.waitLost(t, "MQTT 3.1.1: connection not closed after a QoS 2 SUBSCRIBE")
	if tok.WaitTimeout(100*time.Millisecond) && tok.Error() == nil {
		t.Error("MQTT 3.1.1: QoS 2 SUBSCRIBE got a SUBACK")
	}
	waitEvent(t, emu, "Subscribe", "Failure", "clientId=sub-qos2-v3", "topicName=t/q")

	c5, _, err := newDevice(t, emu, "sub-qos2-v5").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	subacked := make(chan error, 1)
	go func() {
		ack, err := c5.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/ok", QoS: 1}, {Topic: "t/q", QoS: 2}}})
		if err == nil {
			t.Errorf("MQTT 5: QoS 2 SUBSCRIBE got SUBACK %v", ack.Reasons)
		}
		subacked <- err
	}()
	select {
	case d := <-c5.disconnect:
		if d.ReasonCode != 0x9B {
			t.Errorf("MQTT 5: DISCONNECT reason %#x, want 0x9B QoS not supported", d.ReasonCode)
		}
	case <-time.After(waitLong):
		t.Error("MQTT 5: no DISCONNECT after a QoS 2 SUBSCRIBE")
	}
	cancel() // paho.golang keeps waiting for the SUBACK after the DISCONNECT
	<-subacked
	waitEvent(t, emu, "Subscribe", "Failure", "clientId=sub-qos2-v5", "topicName=t/q")
}

// TestTopicLimits: over 7 '/' or 256 bytes closes the connection (MQTT 5: DISCONNECT 0x90).
func TestTopicLimits(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	for name, topic := range map[string]string{
		"8 slashes": "t/1/2/3/4/5/6/7/8",
		"257 bytes": "t/" + strings.Repeat("x", 255),
	} {
		c, _, err := newDevice(t, emu, "topic").connectV5(t)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		_, _ = c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 0, Payload: []byte("x")})
		cancel()
		select {
		case d := <-c.disconnect:
			if d.ReasonCode != 0x90 {
				t.Errorf("%s: DISCONNECT reason %#x, want 0x90", name, d.ReasonCode)
			}
		case <-time.After(waitLong):
			t.Errorf("%s: no DISCONNECT", name)
		}
	}
	// 7 slashes and 256 bytes are allowed.
	c, _, err := newDevice(t, emu, "topic-ok").connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for _, topic := range []string{"t/1/2/3/4/5/6/7", "t/" + strings.Repeat("x", 254)} {
		if resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("x")}); err != nil || resp.ReasonCode != 0 {
			t.Errorf("publish %.20s...: %+v, %v", topic, resp, err)
		}
	}
}

// TestPacketTooLarge: a message over 128 KB ends the connection.
func TestPacketTooLarge(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	c, err := newDevice(t, emu, "big").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	c.Publish("t/big", 0, false, bytes.Repeat([]byte("x"), 129*1024))
	c.waitLost(t, "connection not closed after a 129 KB publish")
}
