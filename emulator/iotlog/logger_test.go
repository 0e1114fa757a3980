package iotlog

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"
)

// flushed waits until l has handed everything to its sinks.
func flushed(t testing.TB, l *Logger) {
	t.Helper()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLoggerFillsDefaults(t *testing.T) {
	clock := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	mem := NewMemory()
	l := NewWithOptions(Options{Now: func() time.Time { return clock }}, mem)
	defer l.Close()

	l.Event(Event{EventType: EventConnect, Status: StatusSuccess}, nil)
	l.Event(Event{EventType: EventConnect, Status: StatusFailure}, nil)
	given := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	l.Event(Event{EventType: EventConnect, Status: StatusFailure, LogLevel: LevelWarn, Timestamp: given, TraceID: "mine"}, nil)
	l.Trace(Trace{Step: StepTLS})
	l.Trace(Trace{Step: StepTLS, Time: given})
	flushed(t, l)

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
	defer l.Close()
	l.Event(Event{EventType: EventConnect}, nil)
	l.Trace(Trace{Step: StepTLS})
	flushed(t, l)
	if len(mem.Events()) != 1 || len(mem.Traces()) != 1 {
		t.Error("a panicking sink kept records from the next sink")
	}
}

func TestLoggerSubscribe(t *testing.T) {
	a, b := NewMemory(), NewMemory()
	l := New()
	defer l.Close()
	unsubscribeA := l.Subscribe(a)
	l.Event(Event{EventType: EventConnect}, nil)
	flushed(t, l)
	l.Subscribe(b)
	l.Event(Event{EventType: EventSubscribe}, nil)
	flushed(t, l)
	unsubscribeA()
	l.Trace(Trace{Step: StepPolicy})
	l.Event(Event{EventType: EventDisconnect}, nil)
	flushed(t, l)

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
	l.Event(Event{}, nil)
	l.Trace(Trace{})
	if l.Enabled(StatusFailure, nil) || l.Flush(context.Background()) != nil {
		t.Error("a nil Logger is enabled or fails to flush")
	}
}

func TestLoggerConcurrent(t *testing.T) {
	mem := NewMemory()
	l := New(mem)
	defer l.Close()
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Event(Event{EventType: EventPublishIn, SourcePort: w*each + i}, nil)
				l.Trace(Trace{Step: StepPublish})
				if i%50 == 0 {
					l.Subscribe(NewMemory())()
				}
			}
		}()
	}
	wg.Wait()
	flushed(t, l)
	if got := len(mem.Events()); got != workers*each {
		t.Errorf("%d events, want %d", got, workers*each)
	}
	if got := len(mem.Traces()); got != workers*each {
		t.Errorf("%d traces, want %d", got, workers*each)
	}
}
