package broker

import (
	"slices"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// A client that has not yet acknowledged a QoS 1 delivery may give its packet identifier to a
// SUBSCRIBE or UNSUBSCRIBE of its own: client and server assign identifiers independently
// (MQTT 5.0 §2.2.1). The answers must be the policy's and the subscriptions', never 0x91.
func TestRequestReusesUnacknowledgedDeliveryID(t *testing.T) {
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"},` +
		`{"Effect":"Deny","Action":"iot:Subscribe","Resource":"arn:aws:iot:` + pathRegion + `:` + pathAccount + `:topicfilter/pid/denied"}]}`
	_, _, addr := pathBroker(t, policy)
	rc := dialRaw(t, addr, 5)
	if ack, err := rc.connect(t, "pid"); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v %v", ack.ReasonCode, err)
	}
	subscribe := func(id uint16, filters ...string) packets.Packet {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: id}
		for _, f := range filters {
			pk.Filters = append(pk.Filters, packets.Subscription{Filter: f, Qos: 1})
		}
		return pk
	}
	unsubscribe := func(id uint16, filter string) packets.Packet {
		return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1}, PacketID: id, Filters: packets.Subscriptions{{Filter: filter}}}
	}
	// answer sends a request and checks the answer's type, identifier and reason codes.
	answer := func(pk packets.Packet, typ byte, want ...byte) {
		t.Helper()
		rc.send(t, pk)
		got, err := rc.read(t)
		if err != nil {
			t.Fatalf("no answer to packet type %d: %v", pk.FixedHeader.Type, err)
		}
		if got.FixedHeader.Type != typ || got.PacketID != pk.PacketID || !slices.Equal(got.ReasonCodes, want) {
			t.Fatalf("answer: type %d, packet ID %d, codes %#v; want type %d, packet ID %d, codes %#v",
				got.FixedHeader.Type, got.PacketID, got.ReasonCodes, typ, pk.PacketID, want)
		}
	}
	answer(subscribe(1, "pid/#"), packets.Suback, 1)

	// The client publishes to itself and leaves the delivery unacknowledged.
	rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: "pid/x", Payload: []byte("m"), PacketID: 2})
	var delivery uint16
	for acked := false; !acked || delivery == 0; {
		pk, err := rc.read(t)
		if err != nil {
			t.Fatalf("reading the PUBACK and the delivery: %v", err)
		}
		switch pk.FixedHeader.Type {
		case packets.Puback:
			acked = true
		case packets.Publish:
			delivery = pk.PacketID
		default:
			t.Fatalf("unexpected packet type %d", pk.FixedHeader.Type)
		}
	}

	answer(subscribe(delivery, "pid/y", "pid/denied"), packets.Suback, 1, packets.ErrNotAuthorized.Code)
	answer(unsubscribe(delivery, "pid/#"), packets.Unsuback, packets.CodeSuccess.Code)
	// The subscription is gone: a second UNSUBSCRIBE finds none.
	answer(unsubscribe(delivery, "pid/#"), packets.Unsuback, packets.CodeNoSubscriptionExisted.Code)
}
