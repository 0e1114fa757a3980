package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/lambdarunner"
)

// Expectations on what AWS would show besides the device: the function's invocation metrics,
// the AWS IoT log, and the emulator's decision trace.

func (s *expectInvocationsStep) describe() string { return "expectInvocations " + s.Function.name }
func (s *expectInvocationsStep) refs() []reference {
	return []reference{{refFunction, s.Function}}
}

func (s *expectInvocationsStep) run(x *execution) outcome {
	var want []string
	for _, c := range []struct {
		name string
		n    *int
	}{{"invocations", s.Count}, {"errors", s.Errors}, {"timeouts", s.Timeouts}} {
		if c.n != nil {
			want = append(want, fmt.Sprintf("%s %d", c.name, *c.n))
		}
	}
	matches := func(m lambdarunner.Metrics) bool {
		return (s.Count == nil || m.Invocations == int64(*s.Count)) && (s.Errors == nil || m.Errors == int64(*s.Errors)) &&
			(s.Timeouts == nil || m.Timeouts == int64(*s.Timeouts))
	}
	// An invocation's metrics are recorded before AWS IoT answers the device, so they are
	// complete once the step that caused it has seen its answer.
	m, _ := x.emu.FunctionMetrics(s.Function.name)
	saw := fmt.Sprintf("invocations %d, errors %d, timeouts %d", m.Invocations, m.Errors, m.Timeouts)
	return outcome{want: strings.Join(want, ", "), saw: saw, ok: matches(m)}
}

// String describes the event.
func (m eventMatch) String() string {
	parts := make([]string, len(m.fields))
	for i, f := range m.fields {
		parts[i] = f.name + "=" + f.value
	}
	return strings.Join(parts, " ")
}

// matches reports whether an event has every field's value. Fields are compared by their AWS
// JSON names, as a Logs Insights filter would.
func (m eventMatch) matches(e iotlog.Event) bool {
	b, err := e.MarshalJSON()
	if err != nil {
		return false
	}
	var got map[string]any
	if json.Unmarshal(b, &got) != nil {
		return false
	}
	for _, f := range m.fields {
		if v, ok := got[f.name]; !ok || fmt.Sprint(v) != f.value {
			return false
		}
	}
	return true
}

// find waits up to d for a matching event.
func (m eventMatch) find(x *execution, d time.Duration) (iotlog.Event, bool) {
	ctx, cancel := context.WithTimeout(x.ctx, d)
	defer cancel()
	e, err := x.emu.Logs().WaitEvent(ctx, m.matches)
	return e, err == nil
}

func (s *expectEventStep) describe() string  { return "expectEvent " + s.String() }
func (s *expectEventStep) refs() []reference { return nil }

func (s *expectEventStep) run(x *execution) outcome {
	want := "an event with " + s.String()
	if e, ok := s.find(x, s.within.or(waitFor)); ok {
		return outcome{want: want, saw: iotlog.FormatEvent(e), ok: true}
	}
	return outcome{want: want, saw: "no such event; the log has " + eventList(x)}
}

// eventList lists the events logged so far.
func eventList(x *execution) string {
	events := x.emu.Logs().Events()
	if len(events) == 0 {
		return "no events"
	}
	lines := make([]string, len(events))
	for i, e := range events {
		lines[i] = iotlog.FormatEvent(e)
	}
	return fmt.Sprintf("%d event(s):\n      %s", len(events), strings.Join(lines, "\n      "))
}

func (s *expectNoEventStep) describe() string      { return "expectNoEvent " + s.String() }
func (s *expectNoEventStep) refs() []reference     { return nil }
func (s *expectNoEventStep) window() time.Duration { return s.within.or(quietFor) }

func (s *expectNoEventStep) run(x *execution) outcome {
	want := "no event with " + s.String() + " within " + s.window().String()
	if e, ok := s.find(x, s.window()); ok {
		return outcome{want: want, saw: iotlog.FormatEvent(e)}
	}
	return outcome{want: want, saw: "none", ok: true}
}

func (s *expectTraceStep) describe() string  { return fmt.Sprintf("expectTrace %q", s.Contains) }
func (s *expectTraceStep) refs() []reference { return nil }

func (s *expectTraceStep) run(x *execution) outcome {
	want := fmt.Sprintf("a decision trace record containing %q", s.Contains)
	if s.ClientID != "" {
		want += " for client " + s.ClientID
	}
	// Traces are written as decisions are made, a moment after what the device saw.
	for deadline := time.Now().Add(s.Within.or(waitFor)); ; {
		for _, t := range x.emu.Logs().Traces() {
			if s.ClientID != "" && t.ClientID != s.ClientID {
				continue
			}
			if b, err := t.MarshalJSON(); err == nil && strings.Contains(t.Message+string(b), s.Contains) {
				return outcome{want: want, saw: t.Step + ": " + t.Message, ok: true}
			}
		}
		if time.Now().After(deadline) {
			return outcome{want: want, saw: fmt.Sprintf("none of %d trace records contains it", len(x.emu.Logs().Traces()))}
		}
		time.Sleep(10 * time.Millisecond)
	}
}
