package scenarios

import (
	"fmt"
	"strings"
	"time"
)

// Expectations on what a device receives: messages, and the end of its connection.

func (s *expectMessageStep) describe() string  { return "expectMessage " + s.Client.name }
func (s *expectMessageStep) refs() []reference { return clientRef(s.Client) }

func (s *expectMessageStep) run(x *execution) outcome {
	want := "a message"
	if s.Topic != nil {
		want += " on " + *s.Topic
	}
	if s.Payload != nil {
		want += fmt.Sprintf(" with payload %q", *s.Payload)
	}
	if s.Retained != nil {
		want += fmt.Sprintf(" (retained %v)", *s.Retained)
	}
	d := x.devices[s.Client.name]
	m, ok := d.receive(func(m message) bool {
		return (s.Topic == nil || m.topic == *s.Topic) && (s.Payload == nil || m.payload == *s.Payload) &&
			(s.Retained == nil || m.retained == *s.Retained)
	}, s.Within.or(waitFor))
	if !ok {
		return outcome{want: want, saw: "no such message within " + s.Within.or(waitFor).String() + othersReceived(d)}
	}
	return outcome{want: want, saw: m.String(), ok: true}
}

func (m message) String() string {
	return fmt.Sprintf("a message on %s with payload %q (retained %v)", m.topic, m.payload, m.retained)
}

// othersReceived lists the messages a device received that no step expected.
func othersReceived(d *device) string {
	if len(d.pending) == 0 {
		return ""
	}
	parts := make([]string, len(d.pending))
	for i, m := range d.pending {
		parts[i] = m.String()
	}
	return "; received instead: " + strings.Join(parts, ", ")
}

func (s *expectNoMessageStep) describe() string      { return "expectNoMessage " + s.Client.name }
func (s *expectNoMessageStep) refs() []reference     { return clientRef(s.Client) }
func (s *expectNoMessageStep) window() time.Duration { return s.Within.or(quietFor) }

func (s *expectNoMessageStep) run(x *execution) outcome {
	want := "no message"
	if s.Topic != nil {
		want += " on " + *s.Topic
	}
	want += " within " + s.window().String()
	m, got := x.devices[s.Client.name].receive(func(m message) bool { return s.Topic == nil || m.topic == *s.Topic }, s.window())
	if got {
		return outcome{want: want, saw: m.String()}
	}
	return outcome{want: want, saw: "no message", ok: true}
}

func (s *expectClosedStep) describe() string  { return "expectClosed " + s.Client.name }
func (s *expectClosedStep) refs() []reference { return clientRef(s.Client) }

func (s *expectClosedStep) run(x *execution) outcome {
	want := "the connection closed by the emulator"
	if s.Reason != nil {
		want += fmt.Sprintf(" with DISCONNECT 0x%02x", *s.Reason)
	}
	d, o := x.connected(s.Client.name, want)
	if o != nil {
		return *o
	}
	if !d.link.closedWithin(s.Within.or(waitFor)) {
		return outcome{want: want, saw: "still open after " + s.Within.or(waitFor).String()}
	}
	d.close()
	ok := s.Reason == nil || d.link.code != nil && *d.link.code == byte(*s.Reason)
	return outcome{want: want, saw: "closed: " + d.link.reason, ok: ok}
}

func (s *expectOpenStep) describe() string      { return "expectOpen " + s.Client.name }
func (s *expectOpenStep) refs() []reference     { return clientRef(s.Client) }
func (s *expectOpenStep) window() time.Duration { return s.Within.or(quietFor) }

func (s *expectOpenStep) run(x *execution) outcome {
	want := "the connection still open after " + s.window().String()
	d, o := x.connected(s.Client.name, want)
	if o != nil {
		return *o
	}
	if d.link.closedWithin(s.window()) {
		return outcome{want: want, saw: "closed: " + d.link.reason}
	}
	return outcome{want: want, saw: "open", ok: true}
}
