package iotlog

import (
	"context"
	"slices"
	"sync"
)

// Memory is a sink that keeps events and traces in memory, for tests and
// the Go API. It is safe for concurrent use. It keeps everything until
// Reset, or the newest ones when a limit is set. The zero value is ready to
// use.
type Memory struct {
	mu      sync.Mutex
	limit   int // 0: keep everything
	events  []Event
	dropped int // events dropped by the limit, so WaitEvent can keep absolute positions
	traces  []Trace
	lines   []FunctionLine
	gen     uint64        // incremented by Reset
	changed chan struct{} // made by a waiter; closed when an event arrives or on Reset
}

// NewMemory returns an empty Memory sink.
func NewMemory() *Memory {
	return &Memory{}
}

// NewMemoryLimit returns a Memory sink that keeps only the newest n events
// and the newest n traces, for long-running emulators.
func NewMemoryLimit(n int) *Memory {
	return &Memory{limit: n}
}

// WriteEvent stores e and wakes WaitEvent callers.
func (m *Memory) WriteEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int
	m.events, n = keepNewest(append(m.events, e), m.limit)
	m.dropped += n
	m.notifyLocked()
}

// WriteTrace stores t.
func (m *Memory) WriteTrace(t Trace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.traces, _ = keepNewest(append(m.traces, t), m.limit)
}

// WriteFunctionLine stores l.
func (m *Memory) WriteFunctionLine(l FunctionLine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines, _ = keepNewest(append(m.lines, l), m.limit)
}

// keepNewest trims s to its newest limit elements once it holds twice as many (trimming in
// batches keeps appending amortised O(1)), and returns how many it dropped. A limit of 0
// keeps everything.
func keepNewest[T any](s []T, limit int) ([]T, int) {
	if limit <= 0 || len(s) <= 2*limit {
		return s, 0
	}
	n := len(s) - limit
	return slices.Clone(s[n:]), n
}

// FunctionLines returns the function log lines of one invocation, or every line when
// requestID is "", oldest first.
func (m *Memory) FunctionLines(requestID string) []FunctionLine {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FunctionLine
	for _, l := range m.lines {
		if requestID == "" || l.RequestID == requestID {
			out = append(out, l)
		}
	}
	return out
}

// Events returns a copy of the events, oldest first.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events)
}

// Traces returns a copy of the traces, oldest first.
func (m *Memory) Traces() []Trace {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.traces)
}

// TracesFor returns the traces of one connection, oldest first.
func (m *Memory) TracesFor(connectionID string) []Trace {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Trace
	for _, t := range m.traces {
		if t.ConnectionID == connectionID {
			out = append(out, t)
		}
	}
	return out
}

// WaitEvent returns the first event, oldest first, for which match returns
// true: one already stored, or else the first to arrive. It returns
// ctx.Err() if ctx ends first. After a Reset it looks only at events stored
// since. match runs with the Memory locked and must not call its methods.
func (m *Memory) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	m.mu.Lock()
	next, gen := m.dropped, m.gen // next is an absolute position: dropped + index
	for {
		if m.gen != gen {
			next, gen = m.dropped, m.gen
		}
		next = max(next, m.dropped)
		for ; next < m.dropped+len(m.events); next++ {
			if e := m.events[next-m.dropped]; match(e) {
				m.mu.Unlock()
				return e, nil
			}
		}
		if m.changed == nil {
			m.changed = make(chan struct{})
		}
		changed := m.changed
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-changed:
		}
		m.mu.Lock()
	}
}

// Reset forgets every event and trace.
func (m *Memory) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events, m.traces, m.lines, m.dropped = nil, nil, nil, 0
	m.gen++
	m.notifyLocked()
}

// notifyLocked wakes every WaitEvent caller. m.mu must be held.
func (m *Memory) notifyLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}
