package broker

import (
	"runtime"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
)

// Per-connection limits on what the broker sends a client.
const (
	// OutboundPublishRate is AWS's quota on publishes sent to one connection per second.
	OutboundPublishRate = 100 // AWS: publish requests per second per connection: 100 (inbound and outbound)
	// OutboundThroughput is AWS's quota on bytes sent to one connection per second.
	OutboundThroughput = 512 << 10 // AWS: throughput per second per connection: 512 KiB; more is delayed

	// maxWritesPending is the number of deliveries mochi queues for a connection's writer.
	// AWS (inferred): sized from AWS's 100 in-flight unacknowledged messages per client.
	maxWritesPending = 100
	// backlogHighWater is the number of unsent bytes above which deliveries to a connection are
	// dropped: one second of AWS's per-connection throughput.
	backlogHighWater = OutboundThroughput
	// backlogHardLimit is the backlog that closes a connection: the high-water mark plus a full
	// writer queue of the largest messages and room for control packets. Deliveries alone never
	// reach it; a client that reads nothing while it sends packets that need answers does.
	backlogHardLimit = backlogHighWater + maxWritesPending*MaxPacketSize + 64<<10
)

// Reasons a delivery fails, in Publish-Out failure events.
const (
	// AWS (inferred): AWS documents no reason for a dropped Publish-Out; iotemu logs THROTTLED,
	// the name AWS gives the PublishOut.Throttle metric's cause, with details saying which
	// limit.
	reasonThrottled = "THROTTLED"
	// AWS (inferred): a message that could not be written to the connection.
	reasonClientError = iotlog.DisconnectClientError

	detailsBacklog   = "The client is not reading: its connection's outbound queue is full"
	detailsRate      = "Outbound publish rate per connection exceeded (100 per second)"
	detailsWriteFail = "The message could not be written to the connection"
)

// deliveryFailure logs a Publish-Out failure for a message to s on topic.
func (b *Broker) deliveryFailure(s *Session, topic, reason, details string) {
	b.event(s, iotlog.Event{EventType: iotlog.EventPublishOut, TopicName: topic, Status: iotlog.StatusFailure, Reason: reason, Details: details})
}

// dropped logs a delivery to s that found the connection's queue full, then yields the
// processor. It runs on the publisher's goroutine, which reads as fast as its device sends:
// without the yield, a few flooding publishers keep the cores from the goroutines that write
// to the subscribers, and nearly every message is dropped (10 QoS 0 publishers to 10
// subscribers on 2 cores: 5% delivered; with the yield, 81-83%). An event loop such as
// mosquitto's alternates reading and writing by design. The yield never waits for the
// subscriber: a connection that reads nothing costs its publishers a turn of the scheduler
// per message, no more.
func (b *Broker) dropped(s *Session, topic string) {
	b.deliveryFailure(s, topic, reasonThrottled, detailsBacklog)
	runtime.Gosched()
}

// admitDelivery decides a delivery to s on topic, from the publisher's goroutine: the
// iot:Receive check, then the connection's backlog and, when the quotas are emulated, its
// publish rate. Refusals are logged as failed deliveries; success is logged when the message
// reaches the connection's writer (OnPacketSent).
func (b *Broker) admitDelivery(s *Session, topic string) bool {
	// AWS: iot:Receive is checked for every message sent to the client, retained ones
	// included, so a policy that loses Receive stops delivery on an existing subscription.
	if d, fresh := s.decide(b, policy.Receive, topic); !d.Allowed {
		traceID := iotlog.NewTraceID()
		b.decision(s, traceID, "receive", d)
		b.event(s, iotlog.Event{TraceID: traceID, EventType: iotlog.EventPublishOut, TopicName: topic, Status: iotlog.StatusFailure, Reason: iotlog.ReasonAuthorizationFailure, Details: detailsAuthorizationFailure})
		return false
	} else if fresh {
		b.decision(s, iotlog.NewTraceID(), "receive", d) // traced once per topic and policy
	}
	if s.writer != nil && s.writer.pending() >= backlogHighWater {
		b.dropped(s, topic)
		return false
	}
	if r := s.traffic().rate; r != nil && !r.allow(time.Now()) {
		b.deliveryFailure(s, topic, reasonThrottled, detailsRate) // AWS: over 100 publishes per second per connection
		return false
	}
	return true
}

// decisionCache keeps a session's iot:Publish, iot:RetainPublish and iot:Receive decisions
// per topic for the policy in force: a policy's answer depends only on the action and the
// topic, as the connection's variables and conditions are fixed when it is compiled.
type decisionCache struct {
	mu     sync.Mutex
	policy *policy.Policy
	m      map[decisionKey]policy.Decision
}

type decisionKey struct{ action, topic string }

// maxCachedDecisions bounds a session's decision cache; a full cache starts over.
const maxCachedDecisions = 256

// decide returns the decision on action for topic under the policy in force, and whether it
// was evaluated now rather than taken from the cache. Callers trace a decision when it is
// fresh or a denial, not for every message.
func (s *Session) decide(b *Broker, action, topic string) (policy.Decision, bool) {
	p := s.Policy()
	c := &s.traffic().decisions
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.policy != p || len(c.m) >= maxCachedDecisions {
		c.policy, c.m = p, make(map[decisionKey]policy.Decision)
	}
	k := decisionKey{action, topic}
	if d, ok := c.m[k]; ok {
		return d, false
	}
	d := p.Evaluate(action, policy.TopicARN(b.cfg.Region, b.cfg.AccountID, topic))
	k.topic = strings.Clone(topic) // the key outlives the packet the topic points into
	c.m[k] = d
	return d, true
}

// rateLimiter admits at most limit events per second, in one-second windows.
type rateLimiter struct {
	mu    sync.Mutex
	limit int
	start time.Time
	n     int
}

func (r *rateLimiter) allow(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.start) >= time.Second {
		r.start, r.n = now, 0
	}
	if r.n >= r.limit {
		return false
	}
	r.n++
	return true
}

// outbox follows the deliveries mochi is writing to one connection, from OnPacketEncode to
// OnPacketSent, so that one whose write fails is logged as failed, and so that a message sent
// with a topic alias is logged with its topic.
type outbox struct {
	mu      sync.Mutex
	writing []outgoing                 // encoded and not yet sent, oldest first
	aliases *[TopicAliasMax + 1]string // allocated when mochi sets the first alias
	last    lastTopic                  // the topics in writing are its copies
}

// lastTopic gives a run of messages on one topic one copy of it, for their events: a topic
// mochi hands over points into the packet it was read from, which an event must not keep.
// It is not safe for concurrent use.
type lastTopic struct{ s string }

// own returns a copy of topic that shares no memory with it: the previous one when the
// topic is the same.
func (t *lastTopic) own(topic string) string {
	if topic != t.s {
		t.s = strings.Clone(topic)
	}
	return t.s
}

type outgoing struct {
	id    uint16
	alias uint16
	topic string
}

// maxWriting bounds the deliveries followed at once; mochi writes one connection's
// deliveries one at a time, so more means earlier writes failed.
const maxWriting = 8

// encoding records a PUBLISH about to be written and returns its topic, and the topics of
// earlier writes that are known to have failed.
func (o *outbox) encoding(pk *packets.Packet) (failed []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	topic := o.topic(pk)
	if len(o.writing) >= maxWriting {
		failed = append(failed, o.writing[0].topic)
		o.writing = o.writing[1:]
	}
	o.writing = append(o.writing, outgoing{id: pk.PacketID, alias: pk.Properties.TopicAlias, topic: o.last.own(topic)})
	return failed
}

// topic resolves the topic of an outgoing PUBLISH, learning the topic aliases mochi sets.
func (o *outbox) topic(pk *packets.Packet) string {
	a := pk.Properties.TopicAlias
	if !pk.Properties.TopicAliasFlag || int(a) >= len(o.aliases) {
		return pk.TopicName
	}
	if pk.TopicName != "" {
		if o.aliases == nil {
			o.aliases = new([TopicAliasMax + 1]string)
		}
		o.aliases[a] = pk.TopicName
		return pk.TopicName
	}
	if o.aliases == nil {
		return ""
	}
	return o.aliases[a]
}

// sent removes the write of pk and returns its topic.
func (o *outbox) sent(pk *packets.Packet) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, w := range o.writing {
		if w.id == pk.PacketID && w.alias == pk.Properties.TopicAlias {
			o.writing = append(o.writing[:i], o.writing[i+1:]...)
			return w.topic, true
		}
	}
	return "", false
}

// drain returns the topics of the writes that never completed.
func (o *outbox) drain() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	topics := make([]string, 0, len(o.writing))
	for _, w := range o.writing {
		topics = append(topics, w.topic)
	}
	o.writing = nil
	return topics
}

// OnPacketSent logs a delivery as successful once mochi handed its bytes to the connection's
// writer.
func (h *hook) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type != packets.Publish {
		return
	}
	if s := sessionOf(cl); s != nil {
		if topic, ok := s.traffic().out.sent(&pk); ok { // topic is the outbox's copy
			h.b.ownEvent(s, iotlog.Event{EventType: iotlog.EventPublishOut, TopicName: topic, Status: iotlog.StatusSuccess})
		}
	}
}

// OnPublishDropped logs a delivery mochi dropped because the connection's writer queue was
// full.
func (h *hook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	if s := sessionOf(cl); s != nil {
		h.b.dropped(s, pk.TopicName)
	}
}

// writeFailures logs the deliveries whose write never completed.
func (b *Broker) writeFailures(s *Session, topics []string) {
	for _, t := range topics {
		b.deliveryFailure(s, t, reasonClientError, detailsWriteFail)
	}
}
