package iotlog

import (
	"regexp"
	"sync"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLoggerFillsDefaults(t *testing.T) {
	clock := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	mem := NewMemory()
	l := New(mem)
	l.SetNow(func() time.Time { return clock })

	l.Event(Event{EventType: EventConnect, Status: StatusSuccess})
	l.Event(Event{EventType: EventConnect, Status: StatusFailure})
	given := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	l.Event(Event{EventType: EventConnect, Status: StatusFailure, LogLevel: LevelWarn, Timestamp: given, TraceID: "mine"})
	l.Trace(Trace{Step: StepTLS})
	l.Trace(Trace{Step: StepTLS, Time: given})

	ev := mem.Events()
	if len(ev) != 3 {
		t.Fatalf("got %d events", len(ev))
	}
	if !ev[0].Timestamp.Equal(clock) || ev[0].LogLevel != LevelInfo || !uuidRE.MatchString(ev[0].TraceID) {
		t.Errorf("success defaults: %+v", ev[0])
	}
	if ev[1].LogLevel != LevelError || ev[1].TraceID == ev[0].TraceID || ev[1].Details != "" {
		t.Errorf("failure defaults: %+v", ev[1])
	}
	if !ev[2].Timestamp.Equal(given) || ev[2].LogLevel != LevelWarn || ev[2].TraceID != "mine" {
		t.Errorf("given values overwritten: %+v", ev[2])
	}
	tr := mem.Traces()
	if len(tr) != 2 || !tr[0].Time.Equal(clock) || !tr[1].Time.Equal(given) {
		t.Errorf("traces: %+v", tr)
	}
}

// panicSink panics on every call.
type panicSink struct{}

func (panicSink) WriteEvent(Event) { panic("boom") }
func (panicSink) WriteTrace(Trace) { panic("boom") }

func (panicSink) WriteFunctionLine(FunctionLine) { panic("boom") }

func TestLoggerContainsSinkPanics(t *testing.T) {
	mem := NewMemory()
	l := New(panicSink{}, mem)
	l.Event(Event{EventType: EventConnect})
	l.Trace(Trace{Step: StepTLS})
	if len(mem.Events()) != 1 || len(mem.Traces()) != 1 {
		t.Error("a panicking sink kept records from the next sink")
	}
}

func TestLoggerAddRemoveSink(t *testing.T) {
	a, b := NewMemory(), NewMemory()
	l := New(a)
	l.Event(Event{EventType: EventConnect})
	l.AddSink(b)
	l.Event(Event{EventType: EventSubscribe})
	l.RemoveSink(a)
	l.Trace(Trace{Step: StepPolicy})
	l.Event(Event{EventType: EventDisconnect})

	if got := len(a.Events()); got != 2 {
		t.Errorf("a: %d events, want 2", got)
	}
	if got := len(a.Traces()); got != 0 {
		t.Errorf("a: %d traces, want 0", got)
	}
	if got := len(b.Events()); got != 2 {
		t.Errorf("b: %d events, want 2", got)
	}
	if got := len(b.Traces()); got != 1 {
		t.Errorf("b: %d traces, want 1", got)
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	var l *Logger
	l.Event(Event{})
	l.Trace(Trace{})
}

func TestLoggerConcurrent(t *testing.T) {
	mem := NewMemory()
	l := New(mem)
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Event(Event{EventType: EventPublishIn, SourcePort: w*each + i})
				l.Trace(Trace{Step: StepPublish})
				if i%50 == 0 {
					s := NewMemory()
					l.AddSink(s)
					l.RemoveSink(s)
					l.SetNow(time.Now)
				}
			}
		}()
	}
	wg.Wait()
	if got := len(mem.Events()); got != workers*each {
		t.Errorf("%d events, want %d", got, workers*each)
	}
	if got := len(mem.Traces()); got != workers*each {
		t.Errorf("%d traces, want %d", got, workers*each)
	}
}
