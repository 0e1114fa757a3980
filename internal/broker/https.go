package broker

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
	"github.com/iotemu/iotemu/internal/gateway"
)

// topicsPath is the prefix of the HTTPS publish. AWS: POST /topics/{url-encoded topic}.
const topicsPath = "/topics/"

// ServeHTTPS serves the HTTP requests of the 443 role that the gateway does not handle itself
// (the gateway applies the Host rule and serves MQTT over WebSockets): the HTTPS publish,
// POST /topics/{topic}?qos=0|1[&retain=true], and 404 for any other path. Paths are matched
// here, not by an http.ServeMux, which would rewrite a topic with an empty level ("a//b").
func (b *Broker) ServeHTTPS(w http.ResponseWriter, r *http.Request) {
	traceID := iotlog.NewTraceID()
	topic, ok := strings.CutPrefix(r.URL.Path, topicsPath)
	if !ok {
		// AWS (inferred): any other path is not found, with AWS's JSON body.
		gateway.WriteResponse(w, http.StatusNotFound, "Not Found", traceID)
		return
	}
	conn := gateway.ConnFromContext(r.Context())
	hc := httpConnOf(conn)
	s := b.httpSession(r, conn, hc)
	if r.Method != http.MethodPost {
		msg := fmt.Sprintf("%s %s: the HTTPS publish takes POST only", r.Method, r.URL.Path)
		b.trace(s, traceID, "publish", msg, nil)
		w.Header().Set("Allow", http.MethodPost)
		gateway.WriteResponse(w, http.StatusMethodNotAllowed, msg, traceID)
		return
	}
	if r.Close {
		hc = nil // AWS: caching needs a keep-alive connection
	}
	// AWS (inferred): the request is authenticated before the broker looks at it.
	if !b.authorizeHTTP(s, hc, traceID) {
		// AWS: a failed authorization answers {"message":"Forbidden","traceId":...}.
		gateway.WriteResponse(w, http.StatusForbidden, "Forbidden", traceID)
		return
	}
	qos, retain, payload, err := readPublishRequest(r, topic)
	publishIn := iotlog.Event{TraceID: traceID, EventType: iotlog.EventPublishIn, TopicName: topic, Retain: retain}
	if err != nil {
		b.trace(s, traceID, "publish", err.Error(), nil)
		publishIn.Status, publishIn.Reason, publishIn.Details = iotlog.StatusFailure, iotlog.DisconnectClientError, err.Error()
		b.event(s, publishIn)
		// AWS (inferred): a request the broker cannot take is a 400 that says why.
		gateway.WriteResponse(w, http.StatusBadRequest, err.Error(), traceID)
		return
	}
	if !b.mayPublish(s, &traceID, topic, retain) {
		publishIn.Status, publishIn.Reason, publishIn.Details = iotlog.StatusFailure, iotlog.ReasonAuthorizationFailure, detailsAuthorizationFailure
		b.event(s, publishIn)
		gateway.WriteResponse(w, http.StatusForbidden, "Forbidden", traceID)
		return
	}
	publishIn.Status = iotlog.StatusSuccess
	b.event(s, publishIn)
	// The inline client bypasses mochi's write check (done above); every subscriber's
	// iot:Receive is checked by OnACLCheck as for any delivery.
	if err := b.server.Publish(topic, payload, retain, qos); err != nil {
		b.trace(s, traceID, "publish", "the broker could not deliver the message: "+err.Error(), nil)
		gateway.WriteResponse(w, http.StatusInternalServerError, "Internal Server Error", traceID)
		return
	}
	b.trace(s, traceID, "publish", fmt.Sprintf("published %d bytes to %q over HTTPS (QoS %d, retain %t)", len(payload), topic, qos, retain), nil)
	gateway.WriteResponse(w, http.StatusOK, "OK", traceID) // AWS: {"message":"OK","traceId":...}
}

// httpSession is the session of one HTTPS request: it carries what its events, traces and
// authentication need. Requests on one connection share the connection's ID.
func (b *Broker) httpSession(r *http.Request, conn *gateway.Conn, hc *httpConn) *Session {
	var info gateway.ConnInfo
	if conn != nil {
		info = conn.Info
	}
	info.HTTP = gateway.NewHTTPInfo(r)
	s := newSession(&info)
	s.HTTPS = true
	if hc != nil {
		// AWS (inferred): connectionMetadata.id names the TLS connection, the same for every
		// request on it.
		s.ConnectionID = hc.id
	}
	return s // no MQTT session, so no connect attributes
}

// authorizeHTTP authenticates one HTTPS request and puts the policy in force in s. hc is the
// keep-alive connection the request came on, nil when there is none.
// AWS: the authorizer runs for every request, except that with enableCachingForHttp its
// answer serves the later requests of a keep-alive connection for refreshAfterInSeconds.
// AWS (inferred): the cached answer serves every request of the connection, whatever
// credentials it carries, and without refreshAfterInSeconds nothing is cached.
func (b *Broker) authorizeHTTP(s *Session, hc *httpConn, traceID string) bool {
	now := b.cfg.Clock.Now()
	if a := hc.cached(now); a != nil {
		s.PrincipalID = a.principalID
		s.SetPolicy(a.policy)
		b.trace(s, traceID, customauth.StepAuthorizer, fmt.Sprintf(
			"the answer of authorizer %q is cached on this keep-alive connection until %s (enableCachingForHttp): the function is not invoked",
			a.authorizer, a.until.UTC().Format(time.RFC3339)), nil)
		return true
	}
	res, pol, ok := b.authorize(s, traceID)
	if !ok {
		return false
	}
	s.PrincipalID = res.PrincipalID
	s.SetPolicy(pol)
	if hc == nil || res.Authorizer == nil || !res.Authorizer.EnableCachingForHTTP {
		return true
	}
	if res.RefreshAfter <= 0 {
		b.trace(s, traceID, customauth.StepResponse, "enableCachingForHttp is set but the answer has no refreshAfterInSeconds: it is not cached", nil)
		return true
	}
	a := &cachedAnswer{authorizer: res.Authorizer.Name, principalID: res.PrincipalID, policy: pol, until: now.Add(res.RefreshAfter)}
	hc.store(a)
	b.trace(s, traceID, customauth.StepResponse, fmt.Sprintf(
		"enableCachingForHttp: the answer serves this keep-alive connection for %s (refreshAfterInSeconds)", res.RefreshAfter), nil)
	return true
}

// readPublishRequest reads and checks the options, topic and payload of an HTTPS publish.
func readPublishRequest(r *http.Request, topic string) (qos byte, retain bool, payload []byte, err error) {
	if qos, retain, err = publishOptions(r.URL.Query()); err != nil {
		return 0, false, nil, err
	}
	if err := checkPublishTopic(topic); err != nil {
		return 0, false, nil, err
	}
	payload, err = io.ReadAll(io.LimitReader(r.Body, MaxPacketSize+1))
	if err != nil {
		return 0, false, nil, fmt.Errorf("reading the payload: %w", err)
	}
	if len(payload) > MaxPacketSize {
		return 0, false, nil, fmt.Errorf("the payload is over %d bytes; AWS IoT allows at most 128 KB", MaxPacketSize)
	}
	return qos, retain, payload, nil
}

// publishOptions reads the qos and retain parameters. AWS: qos is 0 (the default) or 1;
// retain is false (the default) or true.
func publishOptions(q url.Values) (qos byte, retain bool, err error) {
	switch v := q.Get("qos"); v {
	case "", "0":
	case "1":
		qos = 1
	default:
		return 0, false, fmt.Errorf("qos=%s: AWS IoT supports QoS 0 and 1 only", v)
	}
	switch v := q.Get("retain"); strings.ToLower(v) {
	case "", "false":
	case "true":
		retain = true
	default:
		return 0, false, fmt.Errorf("retain=%s: retain is true or false", v)
	}
	return qos, retain, nil
}

// checkPublishTopic applies to an HTTPS publish's topic what an MQTT PUBLISH's topic must
// satisfy: one topic (no wildcard, no shared-subscription name), valid UTF-8 without U+0000,
// and AWS's topic rules.
func checkPublishTopic(t string) error {
	switch {
	case t == "":
		return errors.New("the topic is empty: POST /topics/{topic}")
	case strings.ContainsAny(t, "+#"):
		return fmt.Errorf("topic %q contains a wildcard (+ or #); a publish names one topic", truncate(t)) // [MQTT-3.3.2-2]
	case !utf8.ValidString(t) || strings.ContainsRune(t, 0):
		return errors.New("the topic is not valid UTF-8 or contains U+0000") // [MQTT-1.5.4-1] [MQTT-1.5.4-2]
	case hasPrefixFold(t, "$share/"):
		return fmt.Errorf("topic %q is a shared-subscription filter, not a topic", truncate(t))
	}
	return CheckTopic(t)
}

// httpConn is what the broker keeps about one HTTP connection. It hangs on the connection's
// *gateway.Conn, so it lives exactly as long as the connection.
type httpConn struct {
	id string // the connectionMetadata.id of every request on the connection

	mu     sync.Mutex
	answer *cachedAnswer // nil when nothing is cached
}

// cachedAnswer is an authorizer's answer kept for enableCachingForHttp.
type cachedAnswer struct {
	authorizer  string
	principalID string
	policy      *policy.Policy
	until       time.Time // on the emulator's clock
}

// httpConnOf returns the state of the connection c, creating it at the connection's first
// request; nil when c is nil. The requests of one connection are served one at a time.
func httpConnOf(c *gateway.Conn) *httpConn {
	if c == nil {
		return nil
	}
	if hc, ok := c.Value().(*httpConn); ok {
		return hc
	}
	hc := &httpConn{id: uuid.NewString()}
	c.SetValue(hc)
	return hc
}

// cached returns the cached answer if it is still valid at now; nil on a nil receiver.
func (hc *httpConn) cached(now time.Time) *cachedAnswer {
	if hc == nil {
		return nil
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.answer == nil || !now.Before(hc.answer.until) {
		hc.answer = nil
		return nil
	}
	return hc.answer
}

func (hc *httpConn) store(a *cachedAnswer) {
	hc.mu.Lock()
	hc.answer = a
	hc.mu.Unlock()
}
