package broker

import (
	"slices"
	"strings"
	"time"
)

// Connection is what the broker knows of one established MQTT connection (direct or over
// WebSocket): who it is, the policy in force and when its timers fall due.
type Connection struct {
	ConnectionID string
	// TraceID is the traceId of the admission: its Connect event and decision trace.
	TraceID     string
	ClientID    string
	PrincipalID string
	Protocol    byte // 3 or 4 for MQTT 3.x, 5 for MQTT 5
	WebSocket   bool
	Source      string    // the device's address, host:port
	ConnectedAt time.Time // on the emulator's clock
	// RefreshAt is when the authorizer is next asked again (zero when the answer set no
	// refreshAfterInSeconds); DisconnectAt is when disconnectAfterInSeconds closes it (zero
	// for a connection without that timer: an X.509 one).
	RefreshAt, DisconnectAt time.Time
	// PolicyDocuments are the documents in force, as the authorizer returned them.
	PolicyDocuments []string
}

// Connections returns the established connections, oldest first.
func (b *Broker) Connections() []Connection {
	var out []Connection
	for _, cl := range b.server.Clients.GetAll() {
		if cl.Closed() || cl.Net.Inline {
			continue
		}
		s := sessionOf(cl)
		if s == nil {
			continue
		}
		s.mu.Lock()
		c := Connection{
			ConnectionID:    s.ConnectionID,
			TraceID:         s.connectTraceID.String(),
			ClientID:        s.ClientID,
			PrincipalID:     s.PrincipalID,
			Protocol:        s.Protocol,
			WebSocket:       s.Info.HTTP != nil,
			Source:          s.Info.Remote.String(),
			ConnectedAt:     s.connectedAt,
			RefreshAt:       s.refreshAt,
			PolicyDocuments: s.Policy().Texts(),
		}
		if s.disconnectAfter > 0 { // X.509 connections have no disconnect timer
			c.DisconnectAt = s.connectedAt.Add(s.disconnectAfter)
		}
		s.mu.Unlock()
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Connection) int {
		if c := a.ConnectedAt.Compare(b.ConnectedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ConnectionID, b.ConnectionID)
	})
	return out
}
