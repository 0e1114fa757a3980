package iotlog

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// DefaultMemoryBytes is the byte budget of a Memory made with NewMemory or the zero value.
const DefaultMemoryBytes = 64 << 20

// Memory is a sink that keeps the newest events, traces and function log lines in memory,
// for tests, the Go API and readers such as a query engine. It is safe for concurrent use;
// the zero value is ready to use with DefaultMemoryBytes.
//
// Memory is bounded by bytes, not by entries: events may use half of the budget, traces
// three eighths and function log lines one eighth. A record's bytes are what Memory keeps of
// it: its stored form plus the bytes of its strings and of its trace Data (JSON values by
// their length, other values by a fixed estimate). Records are kept in fixed-size segments;
// when a kind is over its share, its oldest segment is forgotten whole, so storing never
// regrows or copies what is kept. Every event has an absolute position (0 for the first ever
// stored) that EventsSince and WaitEvent use, so a reader never misses or repeats an event
// because older ones were forgotten.
//
// Traces are stored compactly, their strings in two allocations (the identity shared with
// the other traces of the same attempt) and their Data as a slice instead of a map (an
// emulator with thousands of connections keeps each one's decision trace); readers get them
// back as Trace values equal to those written.
type Memory struct {
	mu      sync.Mutex
	init    bool
	limit   int64
	events  ring[Event]
	traces  ring[storedTrace]
	lines   ring[FunctionLine]
	changed chan struct{} // made by a waiter; closed when an event arrives or on Reset

	recentIDs [recentIdentities]traceIdentity // by identityHash, to share (see storedTrace)
	// shared holds recent long JSON values of traces' Data, keyed by their bytes, so that
	// equal values (an authorizer's answer, often the same for every device) are kept once;
	// it holds at most sharedLimit bytes, and starts over when full.
	shared      map[string]json.RawMessage
	sharedBytes int64
}

// NewMemory returns an empty Memory sink with a budget of DefaultMemoryBytes.
func NewMemory() *Memory {
	return NewMemoryBytes(DefaultMemoryBytes)
}

// NewMemoryBytes returns an empty Memory sink that keeps at most about limit bytes of records
// (see Memory); limit <= 0 means DefaultMemoryBytes.
func NewMemoryBytes(limit int64) *Memory {
	m := &Memory{limit: limit}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	return m
}

// initLocked sets the rings up on first use.
func (m *Memory) initLocked() {
	if m.init {
		return
	}
	m.init = true
	if m.limit <= 0 {
		m.limit = DefaultMemoryBytes
	}
	m.events = ring[Event]{limit: m.limit / 2, size: eventBytes}
	m.traces = ring[storedTrace]{limit: m.limit * 3 / 8, size: traceBytes}
	m.lines = ring[FunctionLine]{limit: m.limit / 8, size: lineBytes}
}

// LimitBytes returns the byte budget.
func (m *Memory) LimitBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	return m.limit
}

// Bytes returns the estimated bytes held now (see Memory); it stays under LimitBytes plus an
// eighth of it.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events.bytes + m.traces.bytes + m.lines.bytes
}

// WriteEvent stores e and wakes WaitEvent callers.
func (m *Memory) WriteEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	m.events.push(e)
	m.notifyLocked()
}

// WriteTrace stores t.
func (m *Memory) WriteTrace(t Trace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	m.traces.push(m.storeTrace(t))
}

// WriteFunctionLine stores l.
func (m *Memory) WriteFunctionLine(l FunctionLine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	m.lines.push(l)
}

// FunctionLines returns the function log lines of one invocation, or every line when
// requestID is "", oldest first.
func (m *Memory) FunctionLines(requestID string) []FunctionLine {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FunctionLine
	m.lines.scan(0, func(_ uint64, l FunctionLine) bool {
		if requestID == "" || l.RequestID == requestID {
			out = append(out, l)
		}
		return true
	})
	return out
}

// Events returns a copy of the stored events, oldest first.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events.all()
}

// EventsSince returns a copy of the stored events at position pos or later, oldest first,
// and the position to ask for next time. Reading in a loop from 0 sees every event once;
// events forgotten in between (the budget, Reset) are skipped.
func (m *Memory) EventsSince(pos uint64) (events []Event, next uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events.scan(pos, func(_ uint64, e Event) bool {
		events = append(events, e)
		return true
	})
	return events, m.events.end()
}

// EventsBefore calls fn for each stored event at a position before before, newest first,
// until fn returns false, and returns the positions of the oldest stored event and of the
// next event to come. It copies nothing, so a reader can page through a large store; fn runs
// with the Memory locked and must not call its methods.
func (m *Memory) EventsBefore(before uint64, fn func(pos uint64, e Event) bool) (first, end uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events.scanBack(before, fn)
	return m.events.first, m.events.end()
}

// ScanTraces calls fn for each stored trace, oldest first, until fn returns false. It copies
// no string (a trace with Data gets a new map); fn runs with the Memory locked and must not
// call its methods.
func (m *Memory) ScanTraces(fn func(t Trace) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.traces.scan(0, func(_ uint64, t storedTrace) bool { return fn(t.trace()) })
}

// Traces returns a copy of the stored traces, oldest first.
func (m *Memory) Traces() []Trace {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Trace, 0, m.traces.end()-m.traces.first)
	m.traces.scan(0, func(_ uint64, t storedTrace) bool {
		out = append(out, t.trace())
		return true
	})
	return out
}

// TracesFor returns the traces of one connection, oldest first.
func (m *Memory) TracesFor(connectionID string) []Trace {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Trace
	m.traces.scan(0, func(_ uint64, t storedTrace) bool {
		if t.id.connectionID() == connectionID {
			out = append(out, t.trace())
		}
		return true
	})
	return out
}

// WaitEvent returns the first event, oldest first, for which match returns true: one already
// stored, or else the first to arrive. It returns ctx.Err() if ctx ends first. After a Reset
// it looks only at events stored since. match runs with the Memory locked and must not call
// its methods.
//
// WaitEvent sees what has reached the Memory. An event recorded through a Logger gets there
// from the Logger's goroutine, soon after; a test that must see every event recorded so far
// calls the Logger's Flush first (the emulator's Logs does).
func (m *Memory) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	m.mu.Lock()
	next := m.events.first
	for {
		var found *Event
		m.events.scan(next, func(pos uint64, e Event) bool {
			next = pos + 1
			if match(e) {
				found = &e
				return false
			}
			return true
		})
		if found != nil {
			m.mu.Unlock()
			return *found, nil
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

// Reset forgets every event, trace and function log line.
func (m *Memory) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events.reset()
	m.traces.reset()
	m.lines.reset()
	m.recentIDs = [recentIdentities]traceIdentity{}
	m.shared, m.sharedBytes = nil, 0
	m.notifyLocked()
}

// notifyLocked wakes every WaitEvent caller. m.mu must be held.
func (m *Memory) notifyLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}

// dataValueBytes is the estimate for a trace Data value that is not a string or JSON.
const dataValueBytes = 64

func eventBytes(e Event) int64 {
	n := int64(unsafe.Sizeof(e))
	for _, s := range [...]string{e.TraceID, e.AccountID, e.Status, e.EventType, e.Protocol, e.TopicName,
		e.ClientID, e.PrincipalID, e.SourceIP, e.DestinationIP, e.AuthenticationType, e.ServerName,
		e.Reason, e.Details, e.DisconnectReason, e.ConnectionID, string(e.LogLevel)} {
		n += int64(len(s))
	}
	return n
}

// storedTrace is a Trace as Memory keeps it: its identity shared with the other traces of
// the same attempt, Step and Message end to end in one string, and its Data as a slice sorted
// by key (a small map takes several times the room). Explain is resolved before the trace is
// stored.
type storedTrace struct {
	time time.Time
	id   traceIdentity
	strs string
	data []dataField
	step uint32 // where Step ends in strs
}

// traceIdentity is what the traces of one attempt have in common: TraceID, ConnectionID and
// ClientID end to end.
type traceIdentity struct {
	s   string
	end [2]uint32 // where TraceID and ConnectionID end in s
}

func newTraceIdentity(t *Trace) traceIdentity {
	return traceIdentity{s: t.TraceID + t.ConnectionID + t.ClientID, end: [2]uint32{uint32(len(t.TraceID)), uint32(len(t.TraceID) + len(t.ConnectionID))}}
}

func (id traceIdentity) traceID() string      { return id.s[:id.end[0]] }
func (id traceIdentity) connectionID() string { return id.s[id.end[0]:id.end[1]] }
func (id traceIdentity) clientID() string     { return id.s[id.end[1]:] }

// of reports whether t has this identity.
func (id traceIdentity) of(t *Trace) bool {
	return id.traceID() == t.TraceID && id.connectionID() == t.ConnectionID && id.clientID() == t.ClientID
}

// recentIdentities is the number of identities Memory remembers to share: about as many
// connections as may be authenticating at once, whose traces arrive interleaved.
const recentIdentities = 64

// dataField is one member of a trace's Data.
type dataField struct {
	key   string
	value any
}

// storeTrace packs t, with the identity of a recent trace when it is the same. m.mu must be
// held.
func (m *Memory) storeTrace(t Trace) storedTrace {
	t.resolve()
	st := storedTrace{time: t.Time, strs: t.Step + t.Message, step: uint32(len(t.Step))}
	slot := &m.recentIDs[identityHash(t.TraceID, t.ConnectionID)%recentIdentities]
	if !slot.of(&t) {
		*slot = newTraceIdentity(&t)
	}
	st.id = *slot
	if len(t.Data) > 0 {
		st.data = make([]dataField, 0, len(t.Data))
		for k, v := range t.Data {
			if raw, ok := v.(json.RawMessage); ok && len(raw) >= minSharedValue {
				v = m.share(raw)
			}
			st.data = append(st.data, dataField{k, v})
		}
		slices.SortFunc(st.data, func(a, b dataField) int { return strings.Compare(a.key, b.key) })
	}
	return st
}

// minSharedValue is the length from which a JSON value of a trace's Data is looked up among
// the recent ones (see Memory.shared).
const minSharedValue = 256

// share returns the recent value equal to v, or remembers v. m.mu must be held.
func (m *Memory) share(v json.RawMessage) json.RawMessage {
	if s, ok := m.shared[string(v)]; ok {
		return s
	}
	if m.shared == nil || m.sharedBytes+int64(len(v)) > m.limit/64 {
		m.shared, m.sharedBytes = make(map[string]json.RawMessage), 0
	}
	// The key is v's own bytes: a trace's Data never changes once recorded (see Trace).
	m.shared[unsafe.String(unsafe.SliceData(v), len(v))] = v
	m.sharedBytes += int64(len(v))
	return v
}

// identityHash is an FNV-1a hash of a trace's IDs.
func identityHash(traceID, connectionID string) uint32 {
	h := uint32(2166136261)
	for _, s := range [...]string{traceID, connectionID} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint32(s[i])) * 16777619
		}
	}
	return h
}

// trace unpacks st; its strings share st's memory, its Data is a new map.
func (st *storedTrace) trace() Trace {
	t := Trace{
		Time:         st.time,
		TraceID:      st.id.traceID(),
		ConnectionID: st.id.connectionID(),
		ClientID:     st.id.clientID(),
		Step:         st.strs[:st.step],
		Message:      st.strs[st.step:],
	}
	if len(st.data) > 0 {
		t.Data = make(map[string]any, len(st.data))
		for _, f := range st.data {
			t.Data[f.key] = f.value
		}
	}
	return t
}

// traceBytes counts a shared identity with every trace that shares it, so that the budget
// never counts low.
func traceBytes(t storedTrace) int64 {
	n := int64(unsafe.Sizeof(t)) + int64(len(t.id.s)+len(t.strs))
	for _, f := range t.data {
		n += int64(unsafe.Sizeof(f)) + int64(len(f.key))
		switch v := f.value.(type) {
		case string:
			n += int64(len(v))
		case json.RawMessage:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		default:
			n += dataValueBytes
		}
	}
	return n
}

func lineBytes(l FunctionLine) int64 {
	return int64(unsafe.Sizeof(l)) + int64(len(l.LogGroup)+len(l.RequestID)+len(l.Message))
}
