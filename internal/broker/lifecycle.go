package broker

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// Lifecycle event topics. AWS: published by the broker for every client, delivered to
// subscribers whose policy allows iot:Receive on them.
const (
	topicConnected    = "$aws/events/presence/connected/"
	topicDisconnected = "$aws/events/presence/disconnected/"
	topicSubscribed   = "$aws/events/subscriptions/subscribed/"
	topicUnsubscribed = "$aws/events/subscriptions/unsubscribed/"
)

// versions counts connections per client ID for the events' versionNumber.
type versions struct {
	mu sync.Mutex
	n  map[string]int64
}

func (v *versions) next(clientID string) int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n == nil {
		v.n = map[string]int64{}
	}
	n := v.n[clientID]
	v.n[clientID] = n + 1
	return n
}

// presence is the payload of a connected or disconnected event, with AWS's field names.
type presence struct {
	ClientID                  string `json:"clientId"`
	Timestamp                 int64  `json:"timestamp"`
	EventType                 string `json:"eventType"`
	SessionIdentifier         string `json:"sessionIdentifier"`
	PrincipalIdentifier       string `json:"principalIdentifier"`
	ClientInitiatedDisconnect *bool  `json:"clientInitiatedDisconnect,omitempty"`
	DisconnectReason          string `json:"disconnectReason,omitempty"`
	IPAddress                 string `json:"ipAddress,omitempty"`
	VersionNumber             int64  `json:"versionNumber"`
}

// subscription is the payload of a subscribed or unsubscribed event.
type subscription struct {
	ClientID            string   `json:"clientId"`
	Timestamp           int64    `json:"timestamp"`
	EventType           string   `json:"eventType"`
	SessionIdentifier   string   `json:"sessionIdentifier"`
	PrincipalIdentifier string   `json:"principalIdentifier"`
	Topics              []string `json:"topics"`
}

// lifecycleConnected publishes $aws/events/presence/connected/CLIENTID.
func (b *Broker) lifecycleConnected(s *Session) {
	s.version = b.versions.next(s.ClientID)
	b.publishEvent(topicConnected+s.ClientID, presence{
		ClientID: s.ClientID, Timestamp: b.cfg.Clock.Now().UnixMilli(), EventType: "connected",
		SessionIdentifier: s.sessionIdentifier(), PrincipalIdentifier: s.PrincipalID,
		IPAddress: s.remote().Addr().Unmap().String(), VersionNumber: s.version,
	})
}

// lifecycleDisconnected publishes $aws/events/presence/disconnected/CLIENTID.
func (b *Broker) lifecycleDisconnected(s *Session, reason string) {
	clientInitiated := reason == iotlog.DisconnectClientInitiated
	b.publishEvent(topicDisconnected+s.ClientID, presence{
		ClientID: s.ClientID, Timestamp: b.cfg.Clock.Now().UnixMilli(), EventType: "disconnected",
		SessionIdentifier: s.sessionIdentifier(), PrincipalIdentifier: s.PrincipalID,
		ClientInitiatedDisconnect: &clientInitiated, DisconnectReason: reason, VersionNumber: s.version,
	})
}

// lifecycleSubscription publishes a subscribed or unsubscribed event for the given filters.
func (b *Broker) lifecycleSubscription(s *Session, eventType string, filters []string) {
	if len(filters) == 0 {
		return
	}
	topic := topicSubscribed
	if eventType == "unsubscribed" {
		topic = topicUnsubscribed
	}
	b.publishEvent(topic+s.ClientID, subscription{
		ClientID: s.ClientID, Timestamp: b.cfg.Clock.Now().UnixMilli(), EventType: eventType,
		SessionIdentifier: s.sessionIdentifier(), PrincipalIdentifier: s.PrincipalID, Topics: filters,
	})
}

// publishEvent publishes a lifecycle event through mochi's inline client: every subscriber's
// iot:Receive is checked as for any other message.
func (b *Broker) publishEvent(topic string, payload any) {
	if subs := b.server.Topics.Subscribers(topic); len(subs.Subscriptions)+len(subs.Shared)+len(subs.InlineSubscriptions) == 0 {
		return // nobody listens: skip the encoding and the publish on every connect
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return
	}
	if err := b.server.Publish(topic, body, false, 1); err != nil {
		b.cfg.Logger.Warn("publish lifecycle event", "topic", topic, "err", err)
	}
}

// sessionIdentifier is the session's ID as lifecycle events show it: 32 hex digits.
func (s *Session) sessionIdentifier() string { return strings.ReplaceAll(s.ConnectionID, "-", "") }
