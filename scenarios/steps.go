package scenarios

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
)

// action is what one step does.
type action interface {
	// describe names the step for the output, e.g. "connect dev".
	describe() string
	// refs lists the names the step uses.
	refs() []reference
	// run performs the step and compares what happened with what the file expects.
	run(x *execution) outcome
}

// outcome is a step's verdict: what was expected and what was seen.
type outcome struct {
	want, saw string
	ok        bool
}

// Waits of the steps that do not say "within".
const (
	// waitFor bounds the wait for something expected to happen; it usually happens at once.
	waitFor = 2 * time.Second
	// quietFor is how long nothing must happen when that is what is expected.
	quietFor = 200 * time.Millisecond
	// settle is how long a QoS 0 publish waits to see whether the connection survives it.
	settle = 100 * time.Millisecond
)

func clientRef(r ref) []reference { return []reference{{refClient, r}} }

// connected returns the device's open connection, or an outcome saying it has none.
func (x *execution) connected(name, want string) (*device, *outcome) {
	d := x.devices[name]
	if d.conn == nil {
		return nil, &outcome{want: want, saw: "the client is not connected"}
	}
	return d, nil
}

func (s *connectStep) describe() string  { return "connect " + s.Client.name }
func (s *connectStep) refs() []reference { return clientRef(s.Client) }

func (s *connectStep) check(sc *Scenario, p *problems, at pos) {
	if c := sc.clients[s.Client.name]; c != nil && c.Transport == "https" {
		p.add(at, "client %s publishes over HTTPS: it does not connect", s.Client.name)
	}
}

// result is the expected result; connected unless the file says otherwise.
func (e connectExpect) result() string { return cmp.Or(e.Result, "connected") }

func (e connectExpect) String() string {
	want := e.result()
	switch {
	case e.Connack != nil:
		want += fmt.Sprintf(" with CONNACK 0x%02x", *e.Connack)
	case want == "closed":
		want += " without CONNACK"
	}
	if e.Error != "" {
		want += fmt.Sprintf(" (error containing %q)", e.Error)
	}
	return want
}

func (s *connectStep) run(x *execution) outcome {
	d := x.devices[s.Client.name]
	e := s.Expect
	want := e.String()
	if d.conn != nil {
		select {
		case <-d.link.closed:
			d.close()
		default:
			return outcome{want: want, saw: "the client is already connected; disconnect it first"}
		}
	}
	r := d.connect(x.ctx)
	ok := sameResult(r.result, e.result(), e.Connack == nil) &&
		(e.Connack == nil || r.result == "refused" && r.code == byte(*e.Connack)) &&
		(e.Error == "" || r.err != nil && strings.Contains(r.err.Error(), e.Error))
	return outcome{want: want, saw: r.String(), ok: ok}
}

func (s *disconnectStep) describe() string  { return "disconnect " + s.Client.name }
func (s *disconnectStep) refs() []reference { return clientRef(s.Client) }

func (s *disconnectStep) run(x *execution) outcome {
	d, o := x.connected(s.Client.name, "a clean disconnect")
	if o != nil {
		return *o
	}
	d.close()
	return outcome{want: "a clean disconnect", saw: "disconnected", ok: true}
}

func (s *publishStep) describe() string {
	return fmt.Sprintf("publish %s to %s (QoS %d%s)", s.Client.name, s.Topic, s.qos(), map[bool]string{true: ", retained"}[s.Retain])
}
func (s *publishStep) refs() []reference { return clientRef(s.Client) }

func (s *publishStep) qos() byte {
	if s.QoS == nil {
		return 1
	}
	return byte(*s.QoS)
}

func (e publishExpect) result() string { return cmp.Or(e.Result, "accepted") }

func (e publishExpect) String() string {
	switch want := e.result(); {
	case e.Puback != nil:
		return want + fmt.Sprintf(" with PUBACK 0x%02x", *e.Puback)
	case e.Status != nil:
		return want + fmt.Sprintf(" with HTTP %d", *e.Status)
	default:
		return want
	}
}

func (s *publishStep) run(x *execution) outcome {
	e := s.Expect
	want := e.String()
	d := x.devices[s.Client.name]
	if d.https != nil {
		ctx, cancel := context.WithTimeout(x.ctx, ackTimeout)
		defer cancel()
		r, err := d.https.publish(ctx, s.Topic, []byte(s.Payload), s.qos(), s.Retain)
		result, saw := "accepted", fmt.Sprintf("accepted with HTTP %d %q", r.status, r.message)
		switch {
		case err != nil:
			result, saw = "closed", "connection closed: "+err.Error()
		case r.status != 200:
			result, saw = "refused", fmt.Sprintf("refused with HTTP %d %q", r.status, r.message)
		}
		ok := sameResult(result, e.result(), e.Status == nil) && (e.Status == nil || r.status == *e.Status)
		return outcome{want: want, saw: saw, ok: ok}
	}
	d, o := x.connected(s.Client.name, want)
	if o != nil {
		return *o
	}
	ctx, cancel := d.ackContext(x.ctx)
	defer cancel()
	code, err := d.conn.publish(ctx, s.Topic, []byte(s.Payload), s.qos(), s.Retain)
	result, saw := ackResult(d, code, err, s.qos() == 0, "PUBACK", "accepted")
	ok := sameResult(result, e.result(), e.Puback == nil) && (e.Puback == nil || result == "refused" && code == byte(*e.Puback))
	return outcome{want: want, saw: saw, ok: ok}
}

// sameResult reports whether what happened (saw) is the expected result (want). "refused"
// without a code to match accepts any of AWS's refusals: an error code (CONNACK, PUBACK,
// SUBACK, HTTP 403) or the connection closed (without CONNACK, by a TLS alert, or after the
// packet), for cases that do not care about the wire form.
func sameResult(saw, want string, anyRefusal bool) bool {
	if want == "refused" && anyRefusal {
		return saw == "refused" || saw == "closed"
	}
	return saw == want
}

// ackResult classifies the answer to a PUBLISH or SUBSCRIBE: success (accepted, granted),
// refused with a reason code, or the connection closed.
func ackResult(d *device, code byte, err error, unacknowledged bool, packet, success string) (string, string) {
	wait := time.Second
	if err == nil {
		wait = 0
		if unacknowledged {
			wait = settle
		}
	}
	if wait > 0 && d.link.closedWithin(wait) {
		return "closed", "connection closed: " + d.link.reason
	}
	switch {
	case err != nil:
		return "error", err.Error()
	case code >= 0x80:
		return "refused", fmt.Sprintf("refused with %s 0x%02x", packet, code)
	case unacknowledged:
		return success, success + " (QoS 0: no acknowledgement, the connection stays open)"
	}
	return success, fmt.Sprintf("%s with %s 0x%02x", success, packet, code)
}

func (s *subscribeStep) describe() string  { return "subscribe " + s.Client.name + " to " + s.Topic }
func (s *subscribeStep) refs() []reference { return clientRef(s.Client) }

func (s *subscribeStep) check(sc *Scenario, p *problems, at pos) {
	if c := sc.clients[s.Client.name]; c != nil && c.Transport == "https" {
		p.add(at, "client %s publishes over HTTPS: it cannot subscribe", s.Client.name)
	}
}

func (e subscribeExpect) result() string { return cmp.Or(e.Result, "granted") }

func (e subscribeExpect) String() string {
	if e.Suback != nil {
		return e.result() + fmt.Sprintf(" with SUBACK 0x%02x", *e.Suback)
	}
	return e.result()
}

func (s *subscribeStep) run(x *execution) outcome {
	e := s.Expect
	want := e.String()
	d, o := x.connected(s.Client.name, want)
	if o != nil {
		return *o
	}
	qos := byte(1)
	if s.QoS != nil {
		qos = byte(*s.QoS)
	}
	ctx, cancel := d.ackContext(x.ctx)
	defer cancel()
	code, err := d.conn.subscribe(ctx, s.Topic, qos)
	result, saw := ackResult(d, code, err, false, "SUBACK", "granted")
	ok := sameResult(result, e.result(), e.Suback == nil) && (e.Suback == nil || code == byte(*e.Suback))
	return outcome{want: want, saw: saw, ok: ok}
}
