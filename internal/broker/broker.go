// Package broker is the MQTT side of the emulator: mochi-mqtt as a library, fed by the gateway,
// with AWS IoT's limits and with every CONNECT, PUBLISH, SUBSCRIBE and delivery checked against
// the policy the custom authorizer returned.
package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
	"github.com/iotemu/iotemu/internal/gateway"
)

// listenerID names the gateway's connections inside mochi.
const listenerID = "443"

// Authenticator runs the custom authentication pipeline for one connection attempt.
type Authenticator interface {
	Authenticate(ctx context.Context, req customauth.Request) (*customauth.Result, error)
}

// Config configures a Broker.
type Config struct {
	Region    string
	AccountID string
	Auth      Authenticator
	// Certs authenticates the connections that presented an X.509 client certificate (nil:
	// they are refused).
	Certs CertAuthenticator
	Log   *iotlog.Logger
	// FirstPacketTimeout bounds the wait for CONNECT after the TLS handshake (default 10 s).
	FirstPacketTimeout time.Duration
	// Clock runs the authorizer's refresh and disconnect timers and HTTP answer caching
	// (default: the real clock).
	Clock clock.Clock
	// OutboundQuotas applies AWS's per-connection quotas to what the broker sends each client:
	// at most OutboundPublishRate publishes per second (more are dropped and logged as failed
	// deliveries) and OutboundThroughput bytes per second (more is delayed). Off by default, so
	// that tests and benchmarks are not throttled.
	OutboundQuotas bool
	Logger         *slog.Logger
}

// Broker serves authenticated MQTT connections.
type Broker struct {
	cfg      Config
	server   *mqtt.Server
	versions versions
	docs     documentCache
	timers   timers // the sessions' refresh and disconnect timers
	// recheckMu serialises RecheckCertificates, which rewrites sessions' policies.
	recheckMu sync.Mutex
}

// readBufferSize is the size of the read buffer mochi gives each connection for its whole
// life, idle or not. mochi's default of 2 KiB is an idle connection's largest allocation
// after TLS's own; 512 bytes costs little, because the TLS connection below already holds a
// whole decrypted record (a refill is a copy) and a packet longer than the buffer is read
// into its own slice directly.
const readBufferSize = 512

// New creates a Broker with AWS IoT's capabilities and starts mochi's event loop.
func New(cfg Config) (*Broker, error) {
	if cfg.FirstPacketTimeout == 0 {
		cfg.FirstPacketTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumQos = MaxQoS                   // AWS: QoS 0 and 1 only
	caps.MaximumPacketSize = MaxPacketSize     // AWS: 128 KB
	caps.TopicAliasMaximum = TopicAliasMax     // AWS: Topic Alias Maximum 8
	caps.SubIDAvailable = 0                    // AWS: subscription identifiers are not available
	caps.MaximumSessionExpiryInterval = 604800 // AWS: persistent sessions last at most 7 days (default 1 h)
	caps.Compatibilities.NoInheritedPropertiesOnAck = true
	// mochi's default of 8192 pending writes is a 64 KiB channel buffer for every connection,
	// idle or not. The connection's writer never blocks (connWriter), so the queue only covers
	// the moment between a publisher and the writer goroutine.
	caps.MaximumClientWritesPending = maxWritesPending
	server := mqtt.New(&mqtt.Options{
		Capabilities:             caps,
		InlineClient:             true,
		Logger:                   cfg.Logger,
		SysTopicResendInterval:   0,
		ClientNetWriteBufferSize: 4096,
		ClientNetReadBufferSize:  readBufferSize,
	})
	b := &Broker{cfg: cfg, server: server}
	b.timers = timers{clock: cfg.Clock, run: b.timerFired}
	if err := server.AddHook(&hook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("add broker hook: %w", err)
	}
	if err := server.Serve(); err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	return b, nil
}

// Close disconnects every client and stops the broker.
func (b *Broker) Close() error {
	for _, cl := range b.server.Clients.GetAll() {
		if s := sessionOf(cl); s != nil {
			s.setCloseReason(iotlog.DisconnectServerInitiated)
			_ = b.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	return b.server.Close()
}

// ServeConn runs one MQTT connection from the gateway to its end: it reads CONNECT, runs custom
// authentication and the iot:Connect check, refuses the device as AWS would, or hands the
// connection to mochi.
func (b *Broker) ServeConn(c *gateway.Conn) {
	s, raw := b.admit(c)
	if s == nil {
		c.Close()
		return
	}
	c.Authenticated() // the gateway no longer counts it among the sockets it may shed
	c.Unread(raw)
	var pace *pacer
	if b.cfg.OutboundQuotas {
		pace = &pacer{rate: OutboundThroughput}                     // AWS: 512 KiB per second per connection, more delayed
		s.traffic().rate = &rateLimiter{limit: OutboundPublishRate} // AWS: 100 publishes per second per connection
	}
	s.writer = newConnWriter(c, s, backlogHardLimit, pace)
	defer s.writer.Close()
	// The goroutine stays here for the connection's life. admit's frame (the decoded CONNECT,
	// about 3 KB) is then off its stack, so the runtime can shrink an idle connection's stack
	// from 32 KiB to 16 KiB.
	_ = b.server.EstablishConnection(listenerID, s.writer)
}

// admit reads CONNECT, runs custom authentication and the iot:Connect check, and returns the
// session and the CONNECT's bytes, or refuses the device as AWS would and returns nil.
func (b *Broker) admit(c *gateway.Conn) (*Session, []byte) {
	s := newSession(&c.Info)
	traceID := iotlog.NewTraceID()
	s.connectTraceID = uuid.MustParse(traceID) // the Connect Success event, logged once mochi has the session, shares it
	pk, raw, err := readConnect(c, b.cfg.FirstPacketTimeout)
	if err != nil {
		b.trace(s, traceID, "mqtt", "connection closed before a valid CONNECT: "+err.Error(), nil)
		return nil, nil
	}
	s.Protocol = pk.ProtocolVersion
	// A copy: events share it for the connection's life (see Broker.ownEvent), and it must
	// not keep the CONNECT's buffer alive.
	s.ClientID = strings.Clone(pk.Connect.ClientIdentifier)

	if len(s.ClientID) > MaxClientIDLen {
		msg := fmt.Sprintf("client ID is %d bytes; AWS IoT allows at most %d", len(s.ClientID), MaxClientIDLen)
		b.trace(s, traceID, "connect", msg, nil)
		b.event(s, iotlog.Event{TraceID: traceID, EventType: iotlog.EventConnect, Status: iotlog.StatusFailure, Reason: iotlog.DisconnectClientError, Details: msg})
		refuseConnect(c, s.Protocol, outcome(ClientIDInvalid, s.Protocol))
		return nil, nil
	}

	s.hasUsername, s.username = pk.Connect.UsernameFlag, string(pk.Connect.Username)
	s.hasPassword, s.password = pk.Connect.PasswordFlag, bytes.Clone(pk.Connect.Password) // kept for refreshes: never the CONNECT's buffer
	s.persistent = !pk.Connect.Clean
	if s.Protocol >= 5 {
		s.persistent = pk.Properties.SessionExpiryInterval > 0
	}
	s.lastWill = pk.Connect.WillFlag
	res, pol, ok := b.authorize(s, traceID)
	if !ok {
		refuseConnect(c, s.Protocol, outcome(ConnectRefused, s.Protocol))
		return nil, nil
	}
	s.PrincipalID = res.PrincipalID
	s.SetPolicy(pol)
	s.refreshAfter, s.disconnectAfter = res.RefreshAfter, res.DisconnectAfter

	d := s.Policy().Evaluate(policy.Connect, policy.ClientARN(b.cfg.Region, b.cfg.AccountID, s.ClientID)) // AWS: iot:Connect on client/ID at CONNECT
	b.decision(s, traceID, "connect", d)
	if !d.Allowed {
		b.event(s, iotlog.Event{TraceID: traceID, EventType: iotlog.EventConnect, Status: iotlog.StatusFailure, Reason: iotlog.ReasonAuthorizationFailure, Details: detailsAuthorizationFailure})
		refuseConnect(c, s.Protocol, outcome(ConnectRefused, s.Protocol))
		return nil, nil
	}
	return s, raw
}

// authorize runs custom authentication for the session's request and compiles the policies
// the authorizer returned. On failure it logs the Connection.AuthNError and the trace, and
// returns false.
func (b *Broker) authorize(s *Session, traceID string) (*customauth.Result, *policy.Policy, bool) {
	if len(s.Info.Certificates) > 0 {
		return b.authorizeCert(s, traceID)
	}
	res, err := b.cfg.Auth.Authenticate(context.Background(), s.authRequest())
	if err != nil {
		var f *customauth.Failure
		if !errors.As(err, &f) {
			f = &customauth.Failure{Reason: iotlog.ReasonInternalServerError, Details: "Internal server error", Err: err}
		}
		b.steps(s, traceID, f.Steps)
		b.authNError(s, traceID, f.Reason, f.Details)
		return nil, nil, false
	}
	b.steps(s, traceID, res.Steps)
	docs, err := b.docs.parse(res.PolicyDocuments)
	if err != nil {
		b.trace(s, traceID, "response", "the authorizer's answer holds a policy AWS IoT cannot use: "+err.Error(), nil)
		// AWS (inferred): an unusable policy document makes the authorizer's answer invalid.
		b.authNError(s, traceID, iotlog.ReasonLambdaExecutionError, "Invalid policy document")
		return nil, nil, false
	}
	return res, policy.Compile(docs, b.policyContext(s)), true
}

// policyContext gathers what conditions and variables may refer to.
func (b *Broker) policyContext(s *Session) policy.Context {
	var attrs []string
	if s.persistent {
		attrs = append(attrs, "PersistentConnect") // AWS: iot:ConnectAttributes
	}
	if s.lastWill {
		attrs = append(attrs, "LastWill")
	}
	return policy.Context{
		Region:            b.cfg.Region,
		AccountID:         b.cfg.AccountID,
		ClientID:          s.ClientID,
		DomainName:        s.Info.ServerName,
		SourceIP:          s.sourceIP,
		ConnectAttributes: attrs,
	}
}

// documentCache shares parsed policy documents among connections: an authorizer usually
// returns the same text to many devices (with policy variables), and a parsed document is
// read-only, so each connection's compiled policy can point at one copy, and at one copy of
// its text (see Connections).
type documentCache struct {
	mu sync.Mutex
	m  map[documentKey]*policy.Document
}

// documentKey is a document's place in the answer (its name says it) and its text.
type documentKey struct {
	index int
	text  string
}

// maxCachedDocuments bounds the cache; a full cache starts over.
const maxCachedDocuments = 256

// parse parses the authorizer's policy documents, reusing those parsed before.
func (c *documentCache) parse(texts []string) ([]*policy.Document, error) {
	docs := make([]*policy.Document, 0, len(texts))
	for i, t := range texts {
		c.mu.Lock()
		d, ok := c.m[documentKey{i, t}]
		c.mu.Unlock()
		if !ok {
			var err error
			if d, err = policy.Parse(fmt.Sprintf("policyDocuments[%d]", i), []byte(t)); err != nil {
				return nil, err
			}
			c.mu.Lock()
			if c.m == nil || len(c.m) >= maxCachedDocuments {
				c.m = make(map[documentKey]*policy.Document)
			}
			c.m[documentKey{i, d.Text()}] = d // the document's copy of the text, not the answer's
			c.mu.Unlock()
		}
		docs = append(docs, d)
	}
	return docs, nil
}
