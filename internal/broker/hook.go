package broker

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
)

// hook enforces AWS IoT's limits and the session's policy inside mochi.
type hook struct {
	mqtt.HookBase
	b *Broker
}

func (h *hook) ID() string { return "iotemu" }

// Provides reports the hooks implemented here. mochi asks before every callback, so it is a
// switch rather than a search.
func (h *hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect,
		mqtt.OnConnectAuthenticate,
		mqtt.OnSessionEstablish,
		mqtt.OnSessionEstablished,
		mqtt.OnPacketRead,
		mqtt.OnACLCheck,
		mqtt.OnSubscribe,
		mqtt.OnSubscribed,
		mqtt.OnPacketEncode,
		mqtt.OnPacketSent,
		mqtt.OnPublishDropped,
		mqtt.OnDisconnect:
		return true
	}
	return false
}

// sessionOf returns the session of a client's connection; nil for mochi's inline client.
func sessionOf(cl *mqtt.Client) *Session {
	if w, ok := cl.Net.Conn.(*connWriter); ok {
		return w.s
	}
	return nil
}

// OnConnect applies AWS's keep-alive range before mochi sets the connection's deadline.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	ka := ClampKeepAlive(pk.Connect.Keepalive)
	if ka != cl.State.Keepalive {
		cl.State.Keepalive = ka
		cl.State.ServerKeepalive = cl.Properties.ProtocolVersion >= 5 // [MQTT-3.2.2-21] MQTT 5 clients are told
	}
	return nil
}

// OnConnectAuthenticate accepts exactly the connections the broker authenticated before
// handing them to mochi.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return sessionOf(cl) != nil
}

// OnSessionEstablish arms the session's timers before mochi sends CONNACK, so that a client
// that moves the clock as soon as it is connected cannot outrun them.
func (h *hook) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	if s := sessionOf(cl); s != nil {
		h.b.startTimers(s, cl)
	}
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if s := sessionOf(cl); s != nil {
		// The admission's trace (authorizer, signature, invocation, iot:Connect) leads to this event.
		h.b.event(s, iotlog.Event{TraceID: s.connectTraceID.String(), EventType: iotlog.EventConnect, Status: iotlog.StatusSuccess})
		h.b.lifecycleConnected(s)
	}
}

// OnPacketRead decides PUBLISH and SUBSCRIBE before mochi processes them, because only here
// can a refusal close a 3.1.1 connection, and only here is the RETAIN flag known.
func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	s := sessionOf(cl)
	if s == nil {
		return pk, nil
	}
	if s.touch(h.b.cfg.Clock.Now()) {
		h.b.refresh(s, "a refresh delayed on an idle connection, now that a packet arrived")
		if cl.Closed() {
			return pk, errClosedByEmulator
		}
	}
	switch pk.FixedHeader.Type {
	case packets.Connect:
		// mochi keeps the CONNECT's client ID, username and password for the connection's
		// life, and all three point into the packet's buffer. The session has its own copies:
		// mochi gets the client ID's and the password's (its validation wants one where the
		// flag says so) and no username (nothing reads mochi's), so the buffer is not kept.
		pk.Connect.ClientIdentifier = s.ClientID
		pk.Connect.Username, pk.Connect.Password = nil, s.password
	case packets.Publish:
		return h.readPublish(cl, s, pk)
	case packets.Subscribe:
		s.holdPacketID(&pk)
		return pk, h.readSubscribe(cl, s, pk)
	case packets.Unsubscribe:
		s.holdPacketID(&pk)
		// AWS: UNSUBSCRIBE needs no permission; it is logged. (mochi's OnUnsubscribed also fires
		// when it drops a session's subscriptions at disconnect, which AWS does not log.)
		filters := make([]string, 0, len(pk.Filters))
		for _, f := range pk.Filters {
			h.b.event(s, iotlog.Event{TraceID: iotlog.NewTraceID(), EventType: iotlog.EventUnsubscribe, TopicName: f.Filter, Status: iotlog.StatusSuccess})
			filters = append(filters, f.Filter)
		}
		h.b.lifecycleSubscription(s, "unsubscribed", filters)
	}
	return pk, nil
}

func (h *hook) readPublish(cl *mqtt.Client, s *Session, pk packets.Packet) (packets.Packet, error) {
	if pk.Properties.TopicAliasFlag && pk.Properties.TopicAlias > 0 {
		pk.TopicName = cl.State.TopicAliases.Inbound.Set(pk.Properties.TopicAlias, pk.TopicName)
	}
	publishIn := iotlog.Event{EventType: iotlog.EventPublishIn, TopicName: pk.TopicName, Retain: pk.FixedHeader.Retain}
	if pk.FixedHeader.Qos > MaxQoS {
		msg := "PUBLISH with QoS 2; AWS IoT supports QoS 0 and 1 only"
		publishIn.TraceID = iotlog.NewTraceID()
		h.b.trace(s, publishIn.TraceID, "publish", msg, nil)
		publishIn.Status, publishIn.Reason, publishIn.Details = iotlog.StatusFailure, iotlog.DisconnectClientError, msg
		h.b.event(s, publishIn)
		return pk, h.close(cl, s, outcome(PublishQoS2, s.Protocol), iotlog.DisconnectClientError)
	}
	if err := CheckTopic(pk.TopicName); err != nil {
		publishIn.TraceID = iotlog.NewTraceID()
		h.b.trace(s, publishIn.TraceID, "publish", err.Error(), nil)
		publishIn.Status, publishIn.Reason, publishIn.Details = iotlog.StatusFailure, iotlog.DisconnectClientError, err.Error()
		h.b.event(s, publishIn)
		return pk, h.close(cl, s, outcome(TopicInvalid, s.Protocol), iotlog.DisconnectClientError)
	}
	// The trace ID is made only when a decision is traced; otherwise the log makes one.
	s.publishAllowed = h.b.mayPublish(s, &publishIn.TraceID, pk.TopicName, pk.FixedHeader.Retain)
	if s.publishAllowed {
		publishIn.Status = iotlog.StatusSuccess
		publishIn.TopicName = s.traffic().inTopic.own(pk.TopicName)
		h.b.ownEvent(s, publishIn)
		return pk, nil
	}
	publishIn.Status, publishIn.Reason, publishIn.Details = iotlog.StatusFailure, iotlog.ReasonAuthorizationFailure, detailsAuthorizationFailure
	h.b.event(s, publishIn)
	if o := outcome(PublishDenied, s.Protocol); o.Action == Close || o.Action == Disconnect {
		return pk, h.close(cl, s, o, iotlog.DisconnectAuthError)
	}
	// mochi answers PUBACK 0x87 (QoS 1) or drops (QoS 0) when OnACLCheck(write) says no.
	return pk, nil
}

// mayPublish checks the session's policy for a publish to topic (MQTT or HTTPS), tracing a
// decision the first time it is made for the topic under the policy, and every denial. A
// trace needs *traceID: when it is empty, mayPublish makes one there.
func (b *Broker) mayPublish(s *Session, traceID *string, topic string, retain bool) bool {
	traced := func(d policy.Decision) {
		if *traceID == "" {
			*traceID = iotlog.NewTraceID()
		}
		b.decision(s, *traceID, "publish", d)
	}
	d, fresh := s.decide(b, policy.Publish, topic) // AWS: iot:Publish on topic/TOPIC for every PUBLISH
	if fresh || !d.Allowed {
		traced(d)
	}
	if d.Allowed && retain {
		d, fresh = s.decide(b, policy.RetainPublish, topic) // AWS: RETAIN also needs iot:RetainPublish
		if fresh || !d.Allowed {
			traced(d)
		}
	}
	return d.Allowed
}

func (h *hook) readSubscribe(cl *mqtt.Client, s *Session, pk packets.Packet) error {
	if err := h.refuseQoS2Subscribe(cl, s, pk); err != nil {
		return err
	}
	p := s.Policy()
	verdicts := make([]subVerdict, 0, len(pk.Filters))
	denied, overQuota := false, false
	total := cl.State.Subscriptions.Len()
	for i, sub := range pk.Filters {
		// A string of our own, which mochi passes unchanged to OnACLCheck: its address tells
		// the subscribe check from a delivery (see Session.subVerdict).
		sub.Filter = strings.Clone(sub.Filter)
		pk.Filters[i].Filter = sub.Filter
		traceID := iotlog.NewTraceID()
		ev := iotlog.Event{TraceID: traceID, EventType: iotlog.EventSubscribe, TopicName: sub.Filter}
		if err := CheckTopic(sub.Filter); err != nil {
			h.b.trace(s, traceID, "subscribe", err.Error(), nil)
			ev.Status, ev.Reason, ev.Details = iotlog.StatusFailure, iotlog.DisconnectClientError, err.Error()
			h.b.event(s, ev)
			return h.close(cl, s, outcome(TopicInvalid, s.Protocol), iotlog.DisconnectClientError)
		}
		if _, exists := cl.State.Subscriptions.Get(sub.Filter); !exists {
			total++
		}
		if quota := quotaProblem(i, total); quota != "" {
			h.b.trace(s, traceID, "subscribe", quota, nil)
			ev.Status, ev.Reason, ev.Details = iotlog.StatusFailure, iotlog.DisconnectClientError, quota
			h.b.event(s, ev)
			verdicts = append(verdicts, subVerdict{filter: sub.Filter, code: outcome(SubscriptionQuota, s.Protocol).Code.Code})
			overQuota = true
			continue
		}
		d := p.Evaluate(policy.Subscribe, policy.TopicFilterARN(h.b.cfg.Region, h.b.cfg.AccountID, sub.Filter)) // AWS: iot:Subscribe on topicfilter/FILTER
		h.b.decision(s, traceID, "subscribe", d)
		verdicts = append(verdicts, subVerdict{filter: sub.Filter, allowed: d.Allowed})
		if d.Allowed {
			ev.Status = iotlog.StatusSuccess
		} else {
			denied = true
			ev.Status, ev.Reason, ev.Details = iotlog.StatusFailure, iotlog.ReasonAuthorizationFailure, detailsAuthorizationFailure
		}
		h.b.event(s, ev)
	}
	if o := outcome(SubscriptionQuota, s.Protocol); overQuota && o.Action == Close {
		return h.close(cl, s, o, iotlog.DisconnectClientError)
	}
	if o := outcome(SubscribeDenied, s.Protocol); denied && (o.Action == Close || o.Action == Disconnect) {
		return h.close(cl, s, o, iotlog.DisconnectAuthError)
	}
	s.setPendingSubs(verdicts)
	return nil
}

// refuseQoS2Subscribe answers a SUBSCRIBE that requests QoS 2 for any filter as the outcome
// table says, without a SUBACK; nil when no filter asks for it.
func (h *hook) refuseQoS2Subscribe(cl *mqtt.Client, s *Session, pk packets.Packet) error {
	for _, sub := range pk.Filters {
		if sub.Qos <= MaxQoS {
			continue
		}
		traceID := iotlog.NewTraceID()
		msg := fmt.Sprintf("SUBSCRIBE to %q with QoS %d; AWS IoT supports QoS 0 and 1 only and sends no SUBACK", sub.Filter, sub.Qos)
		h.b.trace(s, traceID, "subscribe", msg, nil)
		h.b.event(s, iotlog.Event{TraceID: traceID, EventType: iotlog.EventSubscribe, TopicName: sub.Filter,
			Status: iotlog.StatusFailure, Reason: iotlog.DisconnectClientError, Details: msg})
		return h.close(cl, s, outcome(SubscribeQoS2, s.Protocol), iotlog.DisconnectClientError)
	}
	return nil
}

// quotaProblem says which AWS subscription limit the i-th filter of a SUBSCRIBE breaks, given
// the connection's subscription count including it; "" when none.
func quotaProblem(i, total int) string {
	switch {
	case i >= MaxSubscribeFilters:
		return fmt.Sprintf("filter %d of one SUBSCRIBE; AWS IoT allows at most %d per SUBSCRIBE", i+1, MaxSubscribeFilters)
	case total > MaxSubscriptions:
		return fmt.Sprintf("subscription %d of this connection; AWS IoT allows at most %d", total, MaxSubscriptions)
	}
	return ""
}

// close ends a connection from inside OnPacketRead as the outcome says, recording the AWS
// disconnect reason for the Disconnect event.
func (h *hook) close(cl *mqtt.Client, s *Session, o Outcome, reason string) error {
	s.setCloseReason(reason)
	if o.Action == Disconnect && s.Protocol >= 5 {
		_ = cl.WritePacket(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
			ReasonCode:  o.Code.Code,
			Properties:  packets.Properties{ReasonString: o.Code.Reason},
		})
	}
	return errClosedByEmulator
}

// OnACLCheck answers mochi for a PUBLISH (write), a SUBSCRIBE filter, or a delivery.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	s := sessionOf(cl)
	if s == nil {
		return false
	}
	if write {
		return s.publishAllowed
	}
	if allowed, ok := s.subVerdict(topic); ok {
		return allowed
	}
	return h.b.admitDelivery(s, topic)
}

// OnSubscribed runs before mochi writes the SUBACK: it puts in the reason codes that
// OnACLCheck cannot express (quota exceeded), drops verdicts mochi did not ask for (filters
// it found invalid itself), and publishes the subscribed lifecycle event.
func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	s := sessionOf(cl)
	if s == nil {
		return
	}
	var granted []string
	for i, v := range s.setPendingSubs(nil) {
		if i >= len(reasonCodes) {
			break
		}
		if v.code != 0 && reasonCodes[i] >= packets.ErrUnspecifiedError.Code {
			reasonCodes[i] = v.code
		}
	}
	for i, f := range pk.Filters {
		if i < len(reasonCodes) && reasonCodes[i] < packets.ErrUnspecifiedError.Code {
			granted = append(granted, f.Filter)
		}
	}
	h.b.lifecycleSubscription(s, "subscribed", granted)
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	s := sessionOf(cl)
	if s == nil {
		return
	}
	h.b.stopTimers(s)
	if t := s.flow.Load(); t != nil {
		h.b.writeFailures(s, t.out.drain())
	}
	reason := disconnectReason(s.getCloseReason(), cl.StopCause(), err)
	msg := "connection ended: " + reason
	if err != nil {
		msg += " (" + err.Error() + ")"
	}
	traceID := iotlog.NewTraceID() // the trace explains the event it leads to
	h.b.trace(s, traceID, "disconnect", msg, nil)
	h.b.event(s, iotlog.Event{TraceID: traceID, EventType: iotlog.EventDisconnect, Status: iotlog.StatusSuccess, DisconnectReason: reason})
	h.b.lifecycleDisconnected(s, reason)
}

// OnSubscribe makes mochi send retained messages only to a filter equal to their topic.
// AWS: retained messages are not delivered to a subscription with wildcards.
func (h *hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if sessionOf(cl) == nil {
		return pk
	}
	for i, f := range pk.Filters {
		if strings.ContainsAny(f.Filter, "+#") {
			pk.Filters[i].RetainHandling = 2 // [MQTT-3.3.1-11] 2: do not send retained messages
		}
	}
	return pk
}

// OnPacketEncode follows each delivery mochi is about to write (see OnPacketSent), gives a
// SUBACK or UNSUBACK back the packet identifier of its request (see Session.holdPacketID), and
// adds to an MQTT 5 CONNACK the capabilities AWS IoT announces and mochi does not.
func (h *hook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	switch pk.FixedHeader.Type {
	case packets.Publish:
		if s := sessionOf(cl); s != nil {
			h.b.writeFailures(s, s.traffic().out.encoding(&pk))
		}
		return pk
	case packets.Suback, packets.Unsuback:
		if s := sessionOf(cl); s != nil {
			s.restorePacketID(&pk)
		}
		return pk
	}
	if pk.FixedHeader.Type != packets.Connack || cl.Properties.ProtocolVersion < 5 || pk.ReasonCode != 0 {
		return pk
	}
	p := &pk.Properties
	p.MaximumPacketSize = MaxPacketSize // AWS: Maximum Packet Size 128 KB
	p.TopicAliasMaximum = TopicAliasMax // AWS: Topic Alias Maximum 8
	p.RetainAvailable, p.RetainAvailableFlag = 1, true
	p.WildcardSubAvailable, p.WildcardSubAvailableFlag = 1, true
	p.SubIDAvailable, p.SubIDAvailableFlag = 0, true // AWS: subscription identifiers are not available
	p.SharedSubAvailable, p.SharedSubAvailableFlag = 1, true
	return pk
}

// disconnectReason maps how a connection ended to AWS's disconnectReason.
func disconnectReason(closeReason string, cause, err error) string {
	switch {
	case closeReason != "":
		return closeReason
	case errors.Is(cause, packets.ErrSessionTakenOver):
		return iotlog.DisconnectDuplicateClientID // AWS: a second connection with the same client ID
	case errors.Is(cause, packets.CodeDisconnect), errors.Is(cause, packets.CodeDisconnectWillMessage), err == nil:
		return iotlog.DisconnectClientInitiated
	case errors.Is(err, os.ErrDeadlineExceeded):
		return iotlog.DisconnectKeepAliveTimeout // AWS: no packet within 1.5 × keep-alive
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), isConnReset(err):
		return iotlog.DisconnectConnectionLost
	}
	return iotlog.DisconnectClientError
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
