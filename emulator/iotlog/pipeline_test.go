package iotlog

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// gateSink blocks on its first event until released, so a test can fill the queue.
type gateSink struct {
	Memory
	entered, release chan struct{}
	first            bool
}

func (g *gateSink) WriteEvent(e Event) {
	if !g.first {
		g.first = true
		close(g.entered)
		<-g.release
	}
	g.Memory.WriteEvent(e)
}

// A full queue never blocks the producer: what does not fit is dropped, counted, and said in
// the log before the next record.
func TestLoggerDropsWhatDoesNotFitAndSaysSo(t *testing.T) {
	g := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	l := NewWithOptions(Options{QueueLen: 2}, g)
	defer l.Close()
	l.Event(Event{ClientID: "taken"}, nil)
	<-g.entered // the Logger's goroutine holds "taken"; the queue is empty
	for _, id := range []string{"q1", "q2", "lost1", "lost2", "lost3"} {
		l.Event(Event{ClientID: id}, nil)
	}
	if s := l.Stats(); s.Dropped != 3 || s.Recorded != 3 || s.Queued != 2 {
		t.Fatalf("stats %+v, want 3 recorded, 3 dropped, 2 queued", s)
	}
	close(g.release)
	flushed(t, l)
	var ids []string
	for _, e := range g.Events() {
		ids = append(ids, e.ClientID)
	}
	if strings.Join(ids, ",") != "taken,q1,q2" {
		t.Errorf("events %v", ids)
	}
	tr := g.Traces()
	if len(tr) != 1 || tr[0].Step != StepLog || !strings.HasPrefix(tr[0].Message, "3 log records were dropped") {
		t.Errorf("traces %+v, want one note of 3 dropped records", tr)
	}
}

// explainCount counts how often its sentence is computed.
type explainCount struct{ n *int }

func (e explainCount) String() string { *e.n++; return "explained" }

func TestTraceExplainIsComputedOnceOffThePath(t *testing.T) {
	var n int
	mem := NewMemory()
	l := New(mem, NewJSONSink(&strings.Builder{}))
	defer l.Close()
	l.Trace(Trace{Step: StepPolicy, Explain: explainCount{&n}})
	flushed(t, l)
	tr := mem.Traces()
	if n != 1 || len(tr) != 1 || tr[0].Message != "explained" || tr[0].Explain != nil {
		t.Errorf("computed %d times; traces %+v", n, tr)
	}
}

// Recorded strings are copies: changing the buffer a field came from (as a broker reuses a
// packet's) changes nothing in the log, and a huge field is capped.
func TestRecordsOwnTheirStrings(t *testing.T) {
	mem := NewMemory()
	l := New(mem)
	defer l.Close()
	buf := []byte("topic/one")
	aliased := unsafe.String(&buf[0], len(buf))
	huge := strings.Repeat("é", 40000)
	l.Event(Event{EventType: EventPublishIn, TopicName: aliased, ClientID: huge}, nil)
	copy(buf, "XXXXXXXXX")
	flushed(t, l)
	e := mem.Events()[0]
	if e.TopicName != "topic/one" {
		t.Errorf("topic %q changed with the caller's buffer", e.TopicName)
	}
	if len(e.ClientID) > MaxFieldLen+40 || !strings.HasSuffix(e.ClientID, "…[truncated, 80000 bytes]") {
		t.Errorf("client ID of %d bytes kept as %d bytes ending %q", len(huge), len(e.ClientID), e.ClientID[len(e.ClientID)-30:])
	}
}

func TestNewTraceIDIsAUniqueUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewTraceID()
		if !uuidRE.MatchString(id) || seen[id] {
			t.Fatalf("trace ID %q is not a new version 4 UUID", id)
		}
		seen[id] = true
	}
}

// After Close, recording is harmless and reaches no sink; Flush and Close return at once.
func TestLoggerAfterClose(t *testing.T) {
	mem := NewMemory()
	l := New(mem)
	l.Event(Event{ClientID: "before"}, nil)
	l.Close()
	l.Event(Event{ClientID: "after"}, nil)
	l.Trace(Trace{Step: StepPolicy})
	l.FunctionLine(FunctionLine{Message: "after"})
	flushed(t, l)
	l.Close()
	if evs := mem.Events(); len(evs) != 1 || evs[0].ClientID != "before" || len(mem.Traces()) != 0 || len(mem.FunctionLines("")) != 0 {
		t.Errorf("events %+v, traces %d, lines %d", evs, len(mem.Traces()), len(mem.FunctionLines("")))
	}
}

// A function line that finds the queue full waits for room instead of being dropped: Lambda
// keeps every line a function writes.
func TestFunctionLineWaitsForRoom(t *testing.T) {
	g := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	l := NewWithOptions(Options{QueueLen: 1}, g)
	defer l.Close()
	l.Event(Event{ClientID: "taken"}, nil)
	<-g.entered // the Logger's goroutine holds "taken"
	l.Event(Event{ClientID: "queued"}, nil)
	returned := make(chan struct{})
	go func() {
		l.FunctionLine(FunctionLine{RequestID: "r1", Message: "kept"})
		close(returned)
	}()
	for range 100 { // let the line find the queue full (the test passes either way)
		runtime.Gosched()
	}
	close(g.release)
	<-returned
	flushed(t, l)
	if lines := g.FunctionLines("r1"); len(lines) != 1 || lines[0].Message != "kept" {
		t.Errorf("function lines %+v, want the one written", lines)
	}
	if s := l.Stats(); s.Dropped != 0 || s.Recorded != 3 {
		t.Errorf("stats %+v, want 3 recorded and none dropped", s)
	}
}
