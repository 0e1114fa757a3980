package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/customauth"
)

func TestClampKeepAlive(t *testing.T) {
	for _, tc := range []struct{ in, want uint16 }{
		{0, MaxKeepAlive}, // AWS: 0 means 1200
		{1, MinKeepAlive},
		{MinKeepAlive - 1, MinKeepAlive},
		{MinKeepAlive, MinKeepAlive},
		{60, 60},
		{MaxKeepAlive, MaxKeepAlive},
		{MaxKeepAlive + 1, MaxKeepAlive},
		{65535, MaxKeepAlive},
	} {
		if got := ClampKeepAlive(tc.in); got != tc.want {
			t.Errorf("ClampKeepAlive(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	slashes := func(n int) string { return "a" + strings.Repeat("/a", n) }
	for _, tc := range []struct {
		topic string
		ok    bool
	}{
		{"a/b", true},
		{strings.Repeat("t", MaxTopicLen), true},
		{strings.Repeat("t", MaxTopicLen+1), false},
		{slashes(MaxTopicSlashes), true},
		{slashes(MaxTopicSlashes + 1), false},
		{"$aws/things/x/shadow/update", true},
		{"$AWS/things/x/shadow/update", true},
		{"$SYS/broker/load", false},                        // the reserved namespace, except $aws/
		{"$share/group/" + slashes(MaxTopicSlashes), true}, // $share/GROUP/ does not count
		{"$share/group/" + slashes(MaxTopicSlashes+1), false},
		{"$aws/rules/rule/" + slashes(MaxTopicSlashes), true}, // nor does a Basic Ingest prefix
		{"$aws/rules/rule/" + slashes(MaxTopicSlashes+1), false},
	} {
		if err := CheckTopic(tc.topic); (err == nil) != tc.ok {
			t.Errorf("CheckTopic(%.40q...): %v, want ok=%v", tc.topic, err, tc.ok)
		}
	}
}

// TestPacketAndSubscriptionLimits: AWS's 128 KB message size and 50 subscriptions per
// connection, over a real socket.
func TestPacketAndSubscriptionLimits(t *testing.T) {
	auth := authFunc(func(req customauth.Request) (*customauth.Result, error) {
		return &customauth.Result{PrincipalID: "p", ConnectionID: req.ConnectionID, PolicyDocuments: []string{limitedPolicy}, DisconnectAfter: time.Hour}, nil
	})
	addr := outcomeBroker(t, auth, clock.NewVirtual(time.Unix(0, 0)))

	t.Run("a publish over 128 KB closes the connection", func(t *testing.T) {
		rc := dialRaw(t, addr, 4)
		if _, err := rc.connect(t, "big"); err != nil {
			t.Fatal(err)
		}
		rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: "allowed/t", PacketID: 1, Payload: make([]byte, MaxPacketSize)})
		if _, err := rc.read(t); err != errClosed {
			t.Fatal("a publish over the packet limit was taken")
		}
	})
	t.Run("a publish just under 128 KB is acknowledged", func(t *testing.T) {
		rc := dialRaw(t, addr, 4)
		if _, err := rc.connect(t, "fits"); err != nil {
			t.Fatal(err)
		}
		rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: "allowed/t", PacketID: 1, Payload: make([]byte, MaxPacketSize-64)})
		if pk, err := rc.read(t); err != nil || pk.FixedHeader.Type != packets.Puback {
			t.Fatalf("%v %v, want PUBACK", pk.FixedHeader, err)
		}
	})
	t.Run("the 51st subscription is over the quota", func(t *testing.T) {
		rc := dialRaw(t, addr, 5)
		if _, err := rc.connect(t, "many"); err != nil {
			t.Fatal(err)
		}
		for i := range MaxSubscriptions/MaxSubscribeFilters + 1 {
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: uint16(i + 1)}
			for j := range MaxSubscribeFilters {
				pk.Filters = append(pk.Filters, packets.Subscription{Filter: fmt.Sprintf("allowed/%d/%d", i, j), Qos: 1})
			}
			rc.send(t, pk)
			ack, err := rc.read(t)
			if err != nil {
				t.Fatal(err)
			}
			for j, code := range ack.ReasonCodes {
				n := i*MaxSubscribeFilters + j + 1
				if over := n > MaxSubscriptions; over != (code == packets.ErrQuotaExceeded.Code) {
					t.Fatalf("subscription %d: SUBACK code %#x", n, code)
				}
			}
		}
	})
}
