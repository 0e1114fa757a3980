package broker

import (
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
)

// AWS: authorization failures carry this details text.
const detailsAuthorizationFailure = "Authorization Failure"

// event fills the fields every event of a connection shares and logs it.
func (b *Broker) event(s *Session, e iotlog.Event) {
	e.AccountID = b.cfg.AccountID
	e.Protocol = iotlog.ProtocolMQTT
	if s.HTTPS {
		e.Protocol = iotlog.ProtocolHTTP
	}
	e.ClientID = s.ClientID
	e.PrincipalID = s.PrincipalID
	e.SourceIP = s.remote().Addr().Unmap().String()
	e.SourcePort = int(s.remote().Port())
	e.ConnectionID = s.ConnectionID
	b.cfg.Log.Event(e)
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

// decision records which statement decided a policy check.
func (b *Broker) decision(s *Session, traceID, step string, d policy.Decision) {
	b.trace(s, traceID, step, d.String(), nil)
}
