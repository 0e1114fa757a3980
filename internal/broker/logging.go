package broker

import (
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
)

// AWS: authorization failures carry this details text.
const detailsAuthorizationFailure = "Authorization Failure"

// who identifies s for AWS's resource-specific logging levels.
func (s *Session) who() iotlog.Who {
	return iotlog.Who{ClientID: s.ClientID, SourceIP: s.sourceIP, PrincipalID: s.PrincipalID}
}

// event fills the fields every event of a connection shares and logs it, unless the logging
// level hides it.
func (b *Broker) event(s *Session, e iotlog.Event) {
	w := b.fill(s, &e)
	b.cfg.Log.Event(e, &w)
}

// ownEvent is event for an event whose own strings are constants or the broker's copies (a
// topic from lastTopic): with the session's, which are copied once per connection, they are
// recorded without a further copy (iotlog's EventNoCopy). Deliveries and accepted publishes,
// an event per message, use it.
func (b *Broker) ownEvent(s *Session, e iotlog.Event) {
	w := b.fill(s, &e)
	b.cfg.Log.EventNoCopy(e, &w)
}

// fill sets the fields every event of s shares and returns who s is, for the logging level.
func (b *Broker) fill(s *Session, e *iotlog.Event) iotlog.Who {
	e.AccountID = b.cfg.AccountID
	e.Protocol = iotlog.ProtocolMQTT
	if s.HTTPS {
		e.Protocol = iotlog.ProtocolHTTP
	}
	e.ClientID = s.ClientID
	e.PrincipalID = s.PrincipalID
	e.SourceIP = s.sourceIP
	e.SourcePort = int(s.remote().Port())
	e.ConnectionID = s.ConnectionID
	return s.who()
}

// authNError logs a Connection.AuthNError.
func (b *Broker) authNError(s *Session, traceID, reason, details string) {
	b.event(s, iotlog.Event{
		TraceID:            traceID,
		EventType:          iotlog.EventAuthNError,
		Status:             iotlog.StatusFailure,
		Reason:             reason,
		Details:            details,
		AuthenticationType: iotlog.AuthenticationTypeCustomAuth,
		ServerName:         s.Info.ServerName,
	})
}

func (b *Broker) trace(s *Session, traceID, step, msg string, data map[string]any) {
	b.cfg.Log.Trace(iotlog.Trace{TraceID: traceID, ConnectionID: s.ConnectionID, ClientID: s.ClientID, Step: step, Message: msg, Data: data})
}

func (b *Broker) steps(s *Session, traceID string, steps []customauth.Step) {
	for _, st := range steps {
		b.trace(s, traceID, st.Name, st.Message, st.Data)
	}
}

// decision records which statement decided a policy check. The sentence is written on the
// log's goroutine (Trace.Explain), off the device's path.
func (b *Broker) decision(s *Session, traceID, step string, d policy.Decision) {
	b.cfg.Log.Trace(iotlog.Trace{TraceID: traceID, ConnectionID: s.ConnectionID, ClientID: s.ClientID, Step: step, Explain: d})
}
