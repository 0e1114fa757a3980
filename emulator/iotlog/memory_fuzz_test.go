package iotlog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzInput hands out the bytes of a fuzz input as choices; past its end every choice is 0.
type fuzzInput struct {
	b []byte
}

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) uint64() uint64 {
	var v [8]byte
	n := copy(v[:], in.b)
	in.b = in.b[n:]
	return binary.LittleEndian.Uint64(v[:])
}

// bytes returns up to n of the input's bytes, as they are (any bytes, invalid UTF-8 too).
func (in *fuzzInput) bytes(n int) []byte {
	n = min(n, len(in.b))
	b := in.b[:n:n]
	in.b = in.b[n:]
	return b
}

// fuzzWriter writes records chosen by a fuzzInput to a Memory and remembers them, as they
// should come back, since the last Reset.
type fuzzWriter struct {
	in     fuzzInput
	m      *Memory
	strs   []string // strings written so far, to write again as they are or edited
	next   int      // a counter, for identifiers such as NewTraceID's
	huge   int      // the strings longer than a segment made so far
	events []Event
	traces []Trace
	lines  []FunctionLine
}

var fuzzZones = []*time.Location{time.UTC, time.Local, time.FixedZone("A", 3600), time.FixedZone("B", -5*3600-1800)}

func (f *fuzzWriter) time() time.Time {
	c := f.in.byte()
	if c%8 == 0 {
		return time.Time{}
	}
	sec := int64(f.in.uint64())
	if c%8 < 6 { // mostly times close to one another
		sec = 1_800_000_000 + sec%100_000
	}
	return time.Unix(sec, int64(f.in.uint64()%1e9)).In(fuzzZones[int(c>>3)%len(fuzzZones)])
}

// string returns an empty string, new bytes, an earlier string, an edit of one, a
// counter-made identifier, or a string longer than a segment.
func (f *fuzzWriter) string() string {
	var s string
	switch c := f.in.byte(); c % 8 {
	case 0:
		return ""
	case 1, 2:
		s = string(f.in.bytes(int(f.in.byte())))
	case 3:
		s = string(f.in.bytes(int(binary.LittleEndian.Uint16([]byte{f.in.byte(), f.in.byte()}))))
	case 4:
		if len(f.strs) == 0 {
			return ""
		}
		return f.strs[int(f.in.byte())%len(f.strs)]
	case 5:
		if len(f.strs) == 0 {
			return ""
		}
		b := []byte(f.strs[int(f.in.byte())%len(f.strs)])
		for range f.in.byte() % 4 {
			i := int(f.in.byte()) * len(b) / 256
			switch f.in.byte() % 3 {
			case 0:
				if i < len(b) {
					b[i] = f.in.byte()
				}
			case 1:
				b = append(b[:i], append(f.in.bytes(int(f.in.byte()%16)), b[i:]...)...)
			case 2:
				if i < len(b) {
					b = append(b[:i], b[min(len(b), i+1+int(f.in.byte()%16)):]...)
				}
			}
		}
		s = string(b)
	case 6:
		f.next++
		s = fmt.Sprintf("17bc890c-ac5c-4770-8000-%012x", f.next+int(c>>3)*1000)
	case 7:
		if f.huge++; f.huge > 4 { // a few are enough, and keep an input fast
			return ""
		}
		part := f.in.bytes(1 + int(f.in.byte()))
		s = strings.Repeat(string(part), 1+(segmentBytes+int(f.in.byte()))/max(1, len(part)))
	}
	if len(s) > 0 {
		f.strs = append(f.strs, s)
	}
	return s
}

// value returns a trace Data value of each type the encoding knows and of some it does not.
func (f *fuzzWriter) value() any {
	switch f.in.byte() % 18 {
	case 0:
		return nil
	case 1, 2:
		return f.string()
	case 3:
		return json.RawMessage(f.string())
	case 4:
		return json.RawMessage(nil)
	case 5:
		return json.RawMessage{}
	case 6:
		return []byte(f.string())
	case 7:
		return []byte(nil)
	case 8:
		return []byte{}
	case 9:
		return f.in.byte()%2 == 0
	case 10:
		return int(f.in.uint64())
	case 11:
		return int64(f.in.uint64())
	case 12:
		v := math.Float64frombits(f.in.uint64())
		if math.IsNaN(v) { // not equal to itself
			return math.Inf(1)
		}
		return v
	case 13:
		return int32(f.in.uint64())
	case 14:
		return []string{f.string()}
	case 15:
		return Level(f.string())
	case 16:
		return map[string]any{"k": f.string()}
	default:
		return struct{ A string }{f.string()}
	}
}

func (f *fuzzWriter) event() Event {
	e := Event{Timestamp: f.time(), SourcePort: int(int16(f.in.uint64())), DestinationPort: int(f.in.uint64()), Retain: f.in.byte()%2 == 0}
	for _, p := range e.fields() {
		if f.in.byte()%2 == 0 {
			*p = f.string()
		}
	}
	return e
}

func (f *fuzzWriter) trace() Trace {
	t := Trace{Time: f.time(), TraceID: f.string(), ConnectionID: f.string(), ClientID: f.string(), Step: f.string(), Message: f.string()}
	if len(f.traces) > 0 && f.in.byte()%4 == 0 { // another trace of the same attempt
		last := f.traces[len(f.traces)-1]
		t.TraceID, t.ConnectionID, t.ClientID = last.TraceID, last.ConnectionID, last.ClientID
	}
	if n := int(f.in.byte() % 8); n > 0 {
		t.Data = make(map[string]any, n)
		for range n {
			t.Data[f.string()] = f.value()
		}
	}
	return t
}

// write writes one record, or resets the Memory, as the input says.
func (f *fuzzWriter) write() {
	switch f.in.byte() % 16 {
	case 0:
		f.m.Reset()
		f.events, f.traces, f.lines = nil, nil, nil
	case 1, 2, 3, 4, 5:
		e := f.event()
		f.m.WriteEvent(e)
		f.events = append(f.events, e)
	case 6, 7, 8, 9, 10:
		t := f.trace()
		f.m.WriteTrace(t)
		if len(t.Data) == 0 {
			t.Data = nil // comes back nil (see Memory)
		}
		f.traces = append(f.traces, t)
	default:
		l := FunctionLine{Time: f.time(), LogGroup: f.string(), RequestID: f.string(), Message: f.string()}
		f.m.WriteFunctionLine(l)
		f.lines = append(f.lines, l)
	}
}

// check reports whether m gives back, by each of its readers, the newest records written.
func (f *fuzzWriter) check(t *testing.T) {
	t.Helper()
	f.m.mu.Lock()
	for _, r := range []*ring{&f.m.events, &f.m.traces, &f.m.lines} {
		if r.bytes > r.limit && len(r.segs) > 1 {
			t.Fatalf("a ring holds %d bytes in %d segments, over its budget of %d", r.bytes, len(r.segs), r.limit)
		}
	}
	f.m.mu.Unlock()
	events := f.m.Events()
	if len(events) > len(f.events) || !sameRecords(events, f.events[len(f.events)-len(events):]) {
		t.Fatalf("the %d events read are not the last of the %d written\n got %s\nwant %s", len(events), len(f.events), brief(events), brief(f.events))
	}
	if len(f.events) > 0 && len(events) == 0 {
		t.Fatalf("none of the %d events written is kept", len(f.events))
	}
	var back []Event
	f.m.EventsBefore(math.MaxUint64, func(_ uint64, e Event) bool {
		back = append(back, e)
		return true
	})
	for i, e := range back {
		if !reflect.DeepEqual(e, events[len(events)-1-i]) {
			t.Fatalf("EventsBefore's event %d is %s, Events' %s", i, brief(e), brief(events[len(events)-1-i]))
		}
	}
	first, end := f.m.EventsBefore(0, func(uint64, Event) bool { return false })
	if end-first != uint64(len(events)) {
		t.Fatalf("EventsBefore: positions %d to %d for %d events", first, end, len(events))
	}
	half := first + uint64(len(events))/2
	f.m.EventsBefore(half, func(pos uint64, e Event) bool {
		if pos >= half || !reflect.DeepEqual(e, events[pos-first]) {
			t.Fatalf("EventsBefore(%d) gave event %d: %s, want %s", half, pos, brief(e), brief(events[pos-first]))
		}
		half = pos // newest first
		return true
	})
	if half != first && len(events) > 1 {
		t.Fatalf("EventsBefore stopped at %d, the oldest is %d", half, first)
	}
	traces := f.m.Traces()
	if len(traces) > len(f.traces) || !sameRecords(traces, f.traces[len(f.traces)-len(traces):]) {
		t.Fatalf("the %d traces read are not the last of the %d written\n got %s\nwant %s", len(traces), len(f.traces), brief(traces), brief(f.traces))
	}
	if len(f.traces) > 0 && len(traces) == 0 {
		t.Fatalf("none of the %d traces written is kept", len(f.traces))
	}
	lines := f.m.FunctionLines("")
	if len(lines) > len(f.lines) || !sameRecords(lines, f.lines[len(f.lines)-len(lines):]) {
		t.Fatalf("the %d lines read are not the last of the %d written\n got %s\nwant %s", len(lines), len(f.lines), brief(lines), brief(f.lines))
	}
	if len(f.lines) > 0 && len(lines) == 0 {
		t.Fatalf("none of the %d lines written is kept", len(f.lines))
	}
	if len(traces) > 0 {
		checkSelection(t, "TracesFor", traces, func(tr Trace) string { return tr.ConnectionID }, f.m.TracesFor)
	}
	if len(lines) > 0 && lines[len(lines)-1].RequestID != "" {
		checkSelection(t, "FunctionLines", lines, func(l FunctionLine) string { return l.RequestID }, f.m.FunctionLines)
	}
}

// checkSelection checks that read, given the key of the last of kept, returns the records of
// kept with that key, in order.
func checkSelection[T any](t *testing.T, name string, kept []T, key func(T) string, read func(string) []T) {
	t.Helper()
	k := key(kept[len(kept)-1])
	var want []T
	for _, r := range kept {
		if key(r) == k {
			want = append(want, r)
		}
	}
	if got := read(k); !sameRecords(got, want) {
		t.Fatalf("%s(%q) gave %d records, want %d", name, k, len(got), len(want))
	}
}

// FuzzMemoryRoundTrip writes random events, traces and function lines (any bytes, strings
// equal to or a little different from earlier ones, counter-made IDs, strings longer than a
// segment, every kind of Data value, times in several locations and the zero time) to a
// Memory with a budget from tiny to the default, resetting it at times, and checks that what
// is kept is the newest records written, each as it was written, within the budget of each
// kind (unless one segment alone is over it).
func FuzzMemoryRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x01\x03\x01\x02ab\x06\x01\x04\x00\x07\x05\x05\x00\x01\x06\x06\x0b\x06\x06\x07"))
	f.Add([]byte("\x02\x06\x09\x01\x30abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRST\x09\x05\x00\x02\x05\x0a\x01\x41\x06\xff\x07\x10xyz\x30\x0b\x0c\x0d\x0e\x0f\x10\x11"))
	f.Add([]byte("\x03\x07\x07\x40\xc0\xaf\xfe\xff\x00\x11\x07\x30\x00\x00\x00\x16\x0c\x0d\x0e\x0f\x10\x11\x00\x06\x07\x07\x02\x02\xff\xfe\x05\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput{data}
		limits := []int64{1 << 10, 16 << 10, 1 << 20, DefaultMemoryBytes}
		w := &fuzzWriter{in: in, m: NewMemoryBytes(limits[int(in.byte())%len(limits)])}
		w.in = in
		for i := 0; len(w.in.b) > 0 && i < 200; i++ {
			w.write()
			if i%16 == 0 {
				w.check(t)
			}
		}
		w.check(t)
	})
}

// brief formats v for a failure message, cut to a readable length.
func brief(v any) string {
	s := fmt.Sprintf("%+q", v)
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return s
}

// sameRecords reports whether got and want hold equal records (nil and empty alike).
func sameRecords[T any](got, want []T) bool {
	return len(got) == len(want) && (len(got) == 0 || reflect.DeepEqual(got, want))
}
