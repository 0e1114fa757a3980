package iotlog

import (
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Sink receives events, traces and function log lines from a Logger. Calls
// may come from many goroutines at once; a sink must be safe for that and
// return quickly.
type Sink interface {
	WriteEvent(Event)
	WriteTrace(Trace)
	WriteFunctionLine(FunctionLine)
}

// Logger fans events and traces out to its sinks, filling in the fields AWS
// always sets. It is safe for concurrent use, and a nil *Logger discards
// everything.
//
// Delivery is synchronous, in call order per goroutine: when Event returns,
// every sink has the event (a Memory sink shows it at once). The lock is not
// held while sinks run, so a slow sink delays only its own caller. A sink
// that panics is skipped for that record; the panic does not reach the
// caller.
type Logger struct {
	mu    sync.RWMutex
	sinks []Sink
	now   func() time.Time
}

// New returns a Logger writing to sinks, with the wall clock as its clock.
func New(sinks ...Sink) *Logger {
	return &Logger{sinks: slices.Clone(sinks), now: time.Now}
}

// SetNow replaces the clock used for missing timestamps (the emulator's
// virtual clock in scenarios and tests).
func (l *Logger) SetNow(now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.now = now
}

// AddSink adds s to the sinks; it receives records logged from now on.
func (l *Logger) AddSink(s Sink) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinks = append(slices.Clip(l.sinks), s)
}

// RemoveSink removes every registration of s (compared with ==).
func (l *Logger) RemoveSink(s Sink) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinks = slices.DeleteFunc(slices.Clone(l.sinks), func(x Sink) bool { return x == s })
}

// Event logs e. A zero Timestamp becomes the clock's now; an empty LogLevel
// becomes ERROR for a failure and INFO otherwise; an empty TraceID becomes a
// new random UUID. Everything else, Details included, is the caller's.
func (l *Logger) Event(e Event) {
	if l == nil {
		return
	}
	sinks, now := l.snapshot()
	if e.Timestamp.IsZero() {
		e.Timestamp = now()
	}
	if e.LogLevel == "" {
		// AWS: failures are logged at ERROR, successes at INFO.
		e.LogLevel = LevelInfo
		if e.Status == StatusFailure {
			e.LogLevel = LevelError
		}
	}
	if e.TraceID == "" {
		// AWS: every entry carries a traceId, a UUID.
		e.TraceID = newTraceID()
	}
	for _, s := range sinks {
		deliver(func() { s.WriteEvent(e) })
	}
}

// Trace logs t. A zero Time becomes the clock's now.
func (l *Logger) Trace(t Trace) {
	if l == nil {
		return
	}
	sinks, now := l.snapshot()
	if t.Time.IsZero() {
		t.Time = now()
	}
	for _, s := range sinks {
		deliver(func() { s.WriteTrace(t) })
	}
}

// FunctionLine logs a line of a function's log. A zero Time becomes the
// clock's now.
func (l *Logger) FunctionLine(f FunctionLine) {
	if l == nil {
		return
	}
	sinks, now := l.snapshot()
	if f.Time.IsZero() {
		f.Time = now()
	}
	for _, s := range sinks {
		deliver(func() { s.WriteFunctionLine(f) })
	}
}

// snapshot returns the current sinks and clock. The slice is never
// modified in place afterwards (AddSink and RemoveSink replace it).
func (l *Logger) snapshot() ([]Sink, func() time.Time) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.sinks, l.now
}

// deliver runs one sink call, containing a panic to that call.
func deliver(call func()) {
	defer func() { _ = recover() }()
	call()
}

// newTraceID returns a random (version 4) UUID.
func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
