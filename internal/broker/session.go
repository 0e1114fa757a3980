package broker

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/google/uuid"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
	"github.com/iotemu/iotemu/internal/gateway"
)

// Session is one authenticated MQTT connection: who it is, the policy it was given, and the
// bookkeeping the hooks need between mochi's callbacks.
type Session struct {
	ConnectionID string            // the UUID sent to the authorizer as connectionMetadata.id
	Info         *gateway.ConnInfo // what the gateway learned; for MQTT, the gateway.Conn's own
	ClientID     string
	PrincipalID  string
	sourceIP     string // Info.Remote's address as events write it, formatted once
	version      int64  // lifecycle events' versionNumber

	Protocol byte // 3 or 4 for MQTT 3.x, 5 for MQTT 5
	HTTPS    bool // an HTTPS publish request: its events say protocol HTTP

	// What a refresh needs to ask the authorizer again (see authRequest) and compile its
	// policies (see Broker.policyContext), besides username and password below.
	hasUsername, hasPassword bool
	persistent, lastWill     bool // iot:ConnectAttributes

	// publishAllowed carries OnPacketRead's verdict on a PUBLISH to OnACLCheck(write=true),
	// which mochi calls next on the same goroutine for the same packet.
	publishAllowed bool

	refreshDue  bool // guarded by mu: a refresh fell due while the connection was idle
	refreshIdle bool // guarded by the broker's timers' lock: refreshTimer waits on an idle connection

	// heldPacketID is the packet identifier of the SUBSCRIBE or UNSUBSCRIBE mochi is
	// processing (see holdPacketID); only the connection's read goroutine uses it.
	heldPacketID uint16

	username string
	password []byte

	policy atomic.Pointer[policy.Policy]

	// The authorizer's refresh interval (the one in force: each refresh may change it) and
	// disconnect time.
	refreshAfter, disconnectAfter time.Duration

	// connectTraceID is the traceId of the CONNECT's decisions and of its Connect event: 16
	// bytes rather than a 36-byte string that only the session would keep.
	connectTraceID uuid.UUID

	// The connection's writer (nil for HTTPS), and what its messages need (see traffic).
	writer *connWriter
	flow   atomic.Pointer[traffic]

	mu          sync.Mutex
	closeReason string       // AWS disconnect reason when the emulator closed the connection
	client      *mqtt.Client // set once the session is established
	lastPacket  time.Time    // on the emulator's clock: the last packet from the client
	connectedAt time.Time    // on the emulator's clock: when the timers were armed
	refreshAt   time.Time    // on the emulator's clock: when the next refresh falls due

	// The disconnect timer, and the refresh timer (or the wait of a refresh delayed on an
	// idle connection), in the broker's timers; both stopped at disconnect.
	disconnectTimer, refreshTimer timerEntry
}

// traffic is what a session keeps once messages flow. A connection that stays idle never
// makes it.
type traffic struct {
	decisions decisionCache // the policy decisions in force
	out       outbox        // the deliveries being written
	rate      *rateLimiter  // the publish rate, when AWS's quotas are emulated

	// inTopic copies the topics of accepted PUBLISHes for their events (read goroutine only).
	inTopic lastTopic

	// pendingSubs holds the verdicts of the SUBSCRIBE mochi is processing, in filter order.
	pendingSubs atomic.Pointer[[]subVerdict]
}

// traffic returns the session's traffic state, made when first needed.
func (s *Session) traffic() *traffic {
	if t := s.flow.Load(); t != nil {
		return t
	}
	s.flow.CompareAndSwap(nil, new(traffic))
	return s.flow.Load()
}

type subVerdict struct {
	filter  string
	allowed bool
	code    byte // the SUBACK code to put in place of mochi's 0x87 (quota exceeded); 0: none
}

// Policy returns the policy currently in force.
func (s *Session) Policy() *policy.Policy { return s.policy.Load() }

// SetPolicy replaces the policy in force, at once, for every later check.
func (s *Session) SetPolicy(p *policy.Policy) { s.policy.Store(p) }

// subVerdict returns the verdict recorded for a filter of the SUBSCRIBE mochi is processing,
// when filter is one of them; ok is false for a delivery.
//
// mochi asks the same question, OnACLCheck(topic, write=false), for a SUBSCRIBE filter and for
// each delivery, and a delivery may be spelled exactly like a filter. The two are told apart by
// the string itself: when it reads the SUBSCRIBE, the hook replaces each filter with a copy it
// allocates, and mochi passes that very string to OnACLCheck. A delivery's topic comes from the
// PUBLISH and can never be that allocation, so the comparison is of addresses, not spellings.
func (s *Session) subVerdict(topic string) (allowed, ok bool) {
	t := s.flow.Load()
	if t == nil {
		return false, false
	}
	p := t.pendingSubs.Load()
	if p == nil || len(topic) == 0 {
		return false, false
	}
	for _, v := range *p {
		if len(v.filter) == len(topic) && unsafe.StringData(v.filter) == unsafe.StringData(topic) {
			return v.allowed, true
		}
	}
	return false, false
}

// setPendingSubs records the verdicts of the SUBSCRIBE being processed and returns those of
// the previous one.
func (s *Session) setPendingSubs(v []subVerdict) []subVerdict {
	var prev *[]subVerdict
	if v != nil {
		prev = s.traffic().pendingSubs.Swap(&v)
	} else if t := s.flow.Load(); t != nil {
		prev = t.pendingSubs.Swap(nil)
	}
	if prev == nil {
		return nil
	}
	return *prev
}

// holdPacketID takes a SUBSCRIBE's or UNSUBSCRIBE's packet identifier out of the packet
// before mochi processes it; restorePacketID puts it into the SUBACK or UNSUBACK.
//
// mochi answers 0x91 (packet identifier in use) to every filter of a SUBSCRIBE or UNSUBSCRIBE
// whose identifier is in the connection's inflight table, and leaves its subscriptions as they
// were. That table also holds the server's own unacknowledged QoS 1 deliveries, so a client
// reusing the identifier of a delivery it has not acknowledged yet was refused, although client and
// server assign identifiers independently of each other (MQTT 5.0 §2.2.1). The client's own QoS 2
// PUBLISH, the one entry of that table that is its own, is refused before mochi sees it, so
// the check can only ever see the server's identifiers. Identifier 0 is never in the table
// (mochi never assigns it, and a client's QoS 1 PUBLISH cannot carry it), so the request is
// processed with identifier 0, its fixed header's QoS cleared to match (mochi rejects a
// request with QoS 1 and identifier 0, and uses the QoS for nothing else), and the answer,
// written on the same goroutine before the next packet is read, gets the client's back.
// AWS: a SUBSCRIBE or UNSUBSCRIBE is answered on its policy and subscriptions alone.
func (s *Session) holdPacketID(pk *packets.Packet) {
	s.heldPacketID = pk.PacketID
	pk.PacketID = 0
	pk.FixedHeader.Qos = 0
}

// restorePacketID gives a SUBACK or UNSUBACK the identifier holdPacketID took.
func (s *Session) restorePacketID(pk *packets.Packet) {
	if pk.PacketID == 0 {
		pk.PacketID = s.heldPacketID
	}
}

func (s *Session) setCloseReason(r string) {
	s.mu.Lock()
	if s.closeReason == "" {
		s.closeReason = r
	}
	s.mu.Unlock()
}

func (s *Session) getCloseReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeReason
}

func (s *Session) remote() netip.AddrPort { return s.Info.Remote }

// authRequest returns the request to the authorizer for the session, the same at connect and
// at every refresh.
func (s *Session) authRequest() customauth.Request {
	req := customauth.Request{ConnectionID: s.ConnectionID, ServerName: s.Info.ServerName}
	if s.HTTPS {
		req.Protocols = customauth.ProtocolsHTTPS // AWS (inferred): ["tls","http"], no mqtt part
		req.Headers, req.QueryString = s.Info.HTTP.Headers, s.Info.HTTP.QueryString
		return req
	}
	req.Protocols = customauth.ProtocolsMQTT // AWS: direct MQTT is ["tls","mqtt"]
	req.HasUsername, req.Username = s.hasUsername, s.username
	req.HasPassword, req.Password = s.hasPassword, s.password
	req.ClientID = s.ClientID
	if h := s.Info.HTTP; h != nil {
		// AWS (inferred): MQTT over WebSockets authenticates at CONNECT with the upgrade
		// request's headers and query as well.
		req.Protocols = customauth.ProtocolsWSS
		req.Headers, req.QueryString = h.Headers, h.QueryString
	}
	return req
}

// newSession starts the session of a connection (or of an HTTPS request). Its connection ID is
// a UUID made as trace IDs are, without a system call.
func newSession(info *gateway.ConnInfo) *Session {
	s := &Session{ConnectionID: iotlog.NewTraceID(), Info: info, sourceIP: info.Remote.Addr().Unmap().String()}
	s.disconnectTimer = timerEntry{s: s}
	s.refreshTimer = timerEntry{s: s}
	return s
}
