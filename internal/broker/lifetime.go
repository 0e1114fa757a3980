package broker

import (
	"fmt"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// idleRefreshDelay is how late a refresh may come on an idle connection. AWS: "on idle
// connections the refresh may be delayed up to 5 minutes". AWS (inferred): the refresh then
// happens at the connection's next packet, or 5 minutes after it fell due, whichever is first.
const idleRefreshDelay = 5 * time.Minute

// startTimers arms the session's disconnect timer and its first refresh, when mochi accepts
// the connection.
func (b *Broker) startTimers(s *Session, cl *mqtt.Client) {
	s.mu.Lock()
	s.client = cl
	s.lastPacket = b.cfg.Clock.Now()
	s.connectedAt = s.lastPacket
	s.mu.Unlock()
	// AWS: the connection is closed disconnectAfterInSeconds after connect, whatever later
	// refreshes return; the value is fixed at connect.
	if s.disconnectAfter > 0 { // a certificate connection has no disconnect time
		b.timers.set(&s.disconnectTimer, s.connectedAt.Add(s.disconnectAfter), timerDisconnect)
	}
	if s.refreshAfter > 0 {
		b.scheduleRefresh(s, s.refreshAfter)
	}
}

// stopTimers cancels the pending timers of a session that ended.
func (b *Broker) stopTimers(s *Session) {
	b.timers.stop(&s.disconnectTimer, &s.refreshTimer)
	s.mu.Lock()
	s.client = nil
	s.mu.Unlock()
}

// scheduleRefresh arms the next refresh, refreshAfterInSeconds from now. It replaces the
// refresh timer, or the wait of a refresh delayed on an idle connection.
func (b *Broker) scheduleRefresh(s *Session, d time.Duration) {
	at := b.cfg.Clock.Now().Add(d)
	s.mu.Lock()
	s.refreshAfter, s.refreshAt = d, at
	s.mu.Unlock()
	b.timers.set(&s.refreshTimer, at, timerRefresh)
}

// timerFired runs a session's timer that fell due: the disconnect, a refresh, or the end of
// the wait of a refresh delayed on an idle connection.
func (b *Broker) timerFired(e *timerEntry, what timerKind, at time.Time) {
	s := e.s
	switch what {
	case timerDisconnect:
		b.expire(s)
	case timerRefresh:
		s.mu.Lock()
		idle := !s.lastPacket.After(at.Add(-s.refreshAfter)) // no packet since the refresh was armed
		if idle {
			s.refreshDue = true
		}
		s.mu.Unlock()
		if !idle {
			b.refresh(s, "refreshAfterInSeconds elapsed")
			return
		}
		b.trace(s, iotlog.NewTraceID(), "refresh", "refresh due, but the connection is idle: it happens at the next packet or within 5 minutes", nil)
		b.timers.set(&s.refreshTimer, b.cfg.Clock.Now().Add(idleRefreshDelay), timerIdleRefresh)
	case timerIdleRefresh:
		if s.takeRefreshDue() {
			b.refresh(s, "refresh delayed 5 minutes on an idle connection")
		}
	}
}

// touch records a packet from the client; it returns true when a refresh is due now.
func (s *Session) touch(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastPacket = now
	due := s.refreshDue
	s.refreshDue = false
	return due
}

func (s *Session) takeRefreshDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	due := s.refreshDue
	s.refreshDue = false
	return due
}

// refresh invokes the authorizer again for the same connection (same connectionMetadata.id).
// AWS: the new policies replace the old at once; a failed refresh terminates the connection.
func (b *Broker) refresh(s *Session, why string) {
	traceID := iotlog.NewTraceID()
	b.trace(s, traceID, "refresh", why+": invoking the authorizer again for connection "+s.ConnectionID, nil)
	res, pol, ok := b.authorize(s, traceID)
	if !ok {
		b.trace(s, traceID, "refresh", "the refresh failed: the connection is closed (AUTH_ERROR)", nil)
		b.closeSession(s, outcome(RefreshFailed, s.Protocol), iotlog.DisconnectAuthError)
		return
	}
	s.SetPolicy(pol)
	s.mu.Lock()
	s.refreshAt = time.Time{} // until scheduleRefresh arms the next one, if the answer asks for it
	s.mu.Unlock()
	msg := fmt.Sprintf("the refresh succeeded: %d new policy documents are in force", len(res.PolicyDocuments))
	if res.RefreshAfter > 0 {
		msg += fmt.Sprintf("; next refresh in %s", res.RefreshAfter)
		b.scheduleRefresh(s, res.RefreshAfter)
	}
	b.trace(s, traceID, "refresh", msg, nil)
}

// expire closes a connection that reached disconnectAfterInSeconds.
func (b *Broker) expire(s *Session) {
	b.trace(s, iotlog.NewTraceID(), "disconnect", fmt.Sprintf("disconnectAfterInSeconds (%s) elapsed since connect", s.disconnectAfter), nil)
	b.closeSession(s, outcome(ConnectionExpired, s.Protocol), iotlog.DisconnectCustomAuthTTLExpiration)
}

// closeSession ends an established connection from outside its goroutine.
func (b *Broker) closeSession(s *Session, o Outcome, reason string) {
	s.mu.Lock()
	cl := s.client
	s.mu.Unlock()
	if cl == nil || cl.Closed() {
		return
	}
	s.setCloseReason(reason)
	if o.Action == Disconnect && s.Protocol >= 5 {
		_ = b.server.DisconnectClient(cl, o.Code)
		return
	}
	cl.Stop(errClosedByEmulator)
}
