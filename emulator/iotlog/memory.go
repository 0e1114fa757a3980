package iotlog

import (
	"context"
	"slices"
	"sync"
)

// Memory is a sink that keeps every event and trace in memory, for tests
// and the Go API. It is safe for concurrent use. It keeps everything until
// Reset. The zero value is ready to use.
type Memory struct {
	mu      sync.Mutex
	events  []Event
	traces  []Trace
	gen     uint64        // incremented by Reset
	changed chan struct{} // made by a waiter; closed when an event arrives or on Reset
}

// NewMemory returns an empty Memory sink.
func NewMemory() *Memory {
	return &Memory{}
}

// WriteEvent stores e and wakes WaitEvent callers.
func (m *Memory) WriteEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	m.notifyLocked()
}

// WriteTrace stores t.
func (m *Memory) WriteTrace(t Trace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.traces = append(m.traces, t)
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
	next, gen := 0, m.gen
	for {
		if m.gen != gen {
			next, gen = 0, m.gen
		}
		for ; next < len(m.events); next++ {
			if match(m.events[next]) {
				e := m.events[next]
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
	m.events, m.traces = nil, nil
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
