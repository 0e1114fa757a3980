package iotlog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"sync"
	"unsafe"
)

// DefaultMemoryBytes is the byte budget of a Memory made with NewMemory or the zero value.
const DefaultMemoryBytes = 64 << 20

// Memory is a sink that keeps the newest events, traces and function log lines in memory,
// for tests, the Go API and readers such as a query engine. It is safe for concurrent use;
// the zero value is ready to use with DefaultMemoryBytes.
//
// Memory is bounded by bytes, not by entries: events may use half of the budget, traces
// three eighths and function log lines one eighth. Records are kept in segments, each one
// chunk of bytes (64 KiB, or an eighth of the kind's share when that is less) where they are
// encoded end to end, with an index of where each starts at its end; a kind's bytes are what
// its segments allocated (plus an estimate for each trace Data value of a type Memory does not
// encode). When a kind is over its share, its oldest segment is forgotten whole, so storing
// never regrows or copies what is kept. Every event has an absolute position (0 for the first
// ever stored) that EventsSince and WaitEvent use, so a reader never misses or repeats an
// event because older ones were forgotten.
//
// The encoding is compact (an emulator with thousands of connections keeps each one's connect
// event, decision trace and authorizer log): times as a location and a second and nanosecond
// relative to the segment's, numbers as varints, a string equal to one written earlier in the
// segment as a reference to it, an ID (trace, connection, request) as a prefix of the first
// one of its field in the segment and its own last characters, and a long message, Data value
// or function log line as its differences from the first one of its step, key or log group
// in the segment. Readers get records back equal to those written, but for the times'
// monotonic clock readings, which are not kept (as after Round(0)), and for trace Data that
// was empty but not nil, which comes back nil; Data values of type string, bool, int, int64,
// float64, json.RawMessage and []byte are encoded, other ones are kept as they are. The
// strings readers get point into the chunks (and keep them in memory while they are used),
// except those written as differences, which are rebuilt.
type Memory struct {
	mu      sync.Mutex
	init    bool
	limit   int64
	events  ring
	traces  ring
	lines   ring
	changed chan struct{} // made by a waiter; closed when an event arrives or on Reset
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
	m.events = ring{limit: m.limit / 2}
	m.traces = ring{limit: m.limit * 3 / 8}
	m.lines = ring{limit: m.limit / 8}
}

// LimitBytes returns the byte budget.
func (m *Memory) LimitBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	return m.limit
}

// Bytes returns the bytes held now (see Memory); it stays under about LimitBytes, unless a
// single record is larger than a segment.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events.bytes + m.traces.bytes + m.lines.bytes
}

// WriteEvent stores e and wakes WaitEvent callers. An event is written as its time, its ports
// and retain flag, a bitmask of the strings it has (see fields), and those strings.
func (m *Memory) WriteEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	fields := e.fields()
	need := timeBound + 4*maxVarint
	set := 0 // a bit for each field that is not empty
	for i, p := range fields {
		if *p != "" {
			set |= 1 << i
			need += strBound(*p)
		}
	}
	w := m.events.open(need, e.Timestamp.Unix())
	w.time(e.Timestamp)
	w.varint(int64(e.SourcePort))
	w.varint(int64(e.DestinationPort))
	w.byte(boolByte(e.Retain))
	w.uvarint(uint64(set))
	for i, p := range fields {
		switch s := *p; {
		case s == "":
		case w.last[i].s == s: // most fields of a delivery: as in the last event
			w.ref(w.last[i].off)
		case p == &e.TraceID || p == &e.ConnectionID:
			w.id(i, s)
		default:
			w.string(i, s)
		}
	}
	m.events.commit()
	m.notifyLocked()
}

// fields are e's strings, in the order Memory writes them.
func (e *Event) fields() [maxFields]*string {
	return [maxFields]*string{(*string)(&e.LogLevel), &e.TraceID, &e.AccountID, &e.Status, &e.EventType, &e.Protocol,
		&e.TopicName, &e.ClientID, &e.PrincipalID, &e.SourceIP, &e.DestinationIP, &e.AuthenticationType,
		&e.ServerName, &e.Reason, &e.Details, &e.DisconnectReason, &e.ConnectionID}
}

// event reads an event written by WriteEvent.
func (d *reader) event() Event {
	var e Event
	e.Timestamp = d.time()
	e.SourcePort = int(d.varint())
	e.DestinationPort = int(d.varint())
	e.Retain = d.byte() != 0
	set := d.uvarint()
	for i, p := range e.fields() {
		if set&(1<<i) != 0 {
			*p = d.str()
		}
	}
	return e
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// WriteTrace stores t. A trace is written as its time, its identity (TraceID, ConnectionID and
// ClientID, or a reference to the identity of an earlier trace of the same attempt: see
// writer.identity), Step, Message and Data.
func (m *Memory) WriteTrace(t Trace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	t.resolve()
	need := timeBound + strBound(t.TraceID) + strBound(t.ConnectionID) + strBound(t.ClientID) +
		strBound(t.Step) + strBound(t.Message) + 2*maxVarint
	for k, v := range t.Data {
		need += strBound(k) + 1 + maxVarint
		switch v := v.(type) {
		case string:
			need += len(v)
		case json.RawMessage:
			need += len(v)
		case []byte:
			need += len(v)
		}
	}
	w := m.traces.open(need, t.Time.Unix())
	w.time(t.Time)
	w.identity(&t)
	w.string(3, t.Step)
	w.text(baseKey{ctxMessage, t.Step}, t.Message)
	w.uvarint(uint64(len(t.Data)))
	for k, v := range t.Data {
		w.string(-1, k)
		w.value(k, v)
	}
	m.traces.commit()
}

// Tags of the trace Data values a writer writes.
const (
	valNil byte = iota
	valString
	valRaw
	valBytes
	valFalse
	valTrue
	valInt
	valInt64
	valFloat64
	valOther // kept as it is in the segment's vals
)

// dataValueBytes is the estimate for a trace Data value that is kept as it is.
const dataValueBytes = 64

// value writes the trace Data value v of key k.
func (w *writer) value(k string, v any) {
	ctx := baseKey{ctxData, k}
	switch v := v.(type) {
	case nil:
		w.byte(valNil)
	case string:
		w.byte(valString)
		w.text(ctx, v)
	case json.RawMessage:
		if len(v) == 0 { // nil or not: keep which
			w.other(v)
			return
		}
		w.byte(valRaw)
		w.text(ctx, unsafe.String(unsafe.SliceData(v), len(v)))
	case []byte:
		if len(v) == 0 {
			w.other(v)
			return
		}
		w.byte(valBytes)
		w.text(ctx, unsafe.String(unsafe.SliceData(v), len(v)))
	case bool:
		w.byte(valFalse + boolByte(v))
	case int:
		w.byte(valInt)
		w.varint(int64(v))
	case int64:
		w.byte(valInt64)
		w.varint(v)
	case float64:
		w.byte(valFloat64)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(v))
	default:
		w.other(v)
	}
}

// other keeps v as it is.
func (w *writer) other(v any) {
	w.byte(valOther)
	w.uvarint(uint64(len(w.seg.vals)))
	w.seg.vals = append(w.seg.vals, v)
	w.valBytes += dataValueBytes
}

// value reads a trace Data value written by writer.value.
func (d *reader) value() any {
	switch d.byte() {
	case valString:
		return d.str()
	case valRaw:
		return json.RawMessage(d.bytes())
	case valBytes:
		return d.bytes()
	case valFalse:
		return false
	case valTrue:
		return true
	case valInt:
		return int(d.varint())
	case valInt64:
		return d.varint()
	case valFloat64:
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.seg.data[d.i:]))
		d.i += 8
		return v
	case valOther:
		return d.seg.vals[d.uvarint()]
	}
	return nil
}

// trace reads a trace written by WriteTrace.
func (d *reader) trace() Trace {
	t := Trace{Time: d.time()}
	id := d.identity()
	t.TraceID, t.ConnectionID, t.ClientID = id.str(), id.str(), id.str()
	t.Step, t.Message = d.str(), d.str()
	if n := int(d.uvarint()); n > 0 {
		t.Data = make(map[string]any, n)
		for range n {
			k := d.str()
			t.Data[k] = d.value()
		}
	}
	return t
}

// line reads a function log line written by WriteFunctionLine.
func (d *reader) line() FunctionLine {
	return FunctionLine{Time: d.time(), LogGroup: d.str(), RequestID: d.str(), Message: d.str()}
}

// WriteFunctionLine stores l.
func (m *Memory) WriteFunctionLine(l FunctionLine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLocked()
	w := m.lines.open(timeBound+strBound(l.LogGroup)+strBound(l.RequestID)+strBound(l.Message), l.Time.Unix())
	w.time(l.Time)
	w.string(0, l.LogGroup)
	w.id(1, l.RequestID)
	w.text(baseKey{ctxLine, l.LogGroup}, l.Message)
	m.lines.commit()
}

// FunctionLines returns the function log lines of one invocation, or every line when
// requestID is "", oldest first.
func (m *Memory) FunctionLines(requestID string) []FunctionLine {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FunctionLine
	m.lines.scan(0, func(_ uint64, d *reader) bool {
		head := *d
		d.time()
		d.skip()
		if requestID == "" || d.equal(requestID) {
			out = append(out, head.line())
		}
		return true
	})
	return out
}

// Events returns a copy of the stored events, oldest first.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Event, 0, m.events.end()-m.events.first)
	m.events.scan(0, func(_ uint64, d *reader) bool {
		out = append(out, d.event())
		return true
	})
	return out
}

// EventsSince returns a copy of the stored events at position pos or later, oldest first,
// and the position to ask for next time. Reading in a loop from 0 sees every event once;
// events forgotten in between (the budget, Reset) are skipped.
func (m *Memory) EventsSince(pos uint64) (events []Event, next uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events.scan(pos, func(_ uint64, d *reader) bool {
		events = append(events, d.event())
		return true
	})
	return events, m.events.end()
}

// EventsBefore calls fn for each stored event at a position before before, newest first,
// until fn returns false, and returns the positions of the oldest stored event and of the
// next event to come. It copies nothing (but strings stored as differences), so a reader can
// page through a large store; fn runs with the Memory locked and must not call its methods.
func (m *Memory) EventsBefore(before uint64, fn func(pos uint64, e Event) bool) (first, end uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events.scanBack(before, func(pos uint64, d *reader) bool { return fn(pos, d.event()) })
	return m.events.first, m.events.end()
}

// ScanTraces calls fn for each stored trace, oldest first, until fn returns false. It copies
// no string but those stored as differences (a trace with Data gets a new map); fn runs with
// the Memory locked and must not call its methods.
func (m *Memory) ScanTraces(fn func(t Trace) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.traces.scan(0, func(_ uint64, d *reader) bool { return fn(d.trace()) })
}

// Traces returns a copy of the stored traces, oldest first.
func (m *Memory) Traces() []Trace {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Trace, 0, m.traces.end()-m.traces.first)
	m.traces.scan(0, func(_ uint64, d *reader) bool {
		out = append(out, d.trace())
		return true
	})
	return out
}

// TracesFor returns the traces of one connection, oldest first.
func (m *Memory) TracesFor(connectionID string) []Trace {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Trace
	m.traces.scan(0, func(_ uint64, d *reader) bool {
		head := *d
		d.time()
		id := d.identity()
		id.skip()
		if id.equal(connectionID) {
			t := head.trace()
			out = append(out, t)
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
		m.events.scan(next, func(pos uint64, d *reader) bool {
			next = pos + 1
			if e := d.event(); match(e) {
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
	m.notifyLocked()
}

// notifyLocked wakes every WaitEvent caller. m.mu must be held.
func (m *Memory) notifyLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}
