package iotlog

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// MaxFieldLen caps every string field of a recorded event or trace identity (topic, client
// ID, principal, details, ...): a device controls most of them, and AWS's own limits are far
// below it (client ID 128 bytes, topic 256). A longer value is cut at a character boundary
// and ends with truncatedMark and its real length.
const MaxFieldLen = 1024

// MaxMessageLen caps a trace's Message.
const MaxMessageLen = 8 << 10

// MaxDataLen caps a string or JSON value of a trace's Data (such as the event sent to a
// function, which holds what the device sent). A longer value becomes a string: its first
// MaxDataLen bytes and a note of its length.
const MaxDataLen = 32 << 10

// truncatedMark ends a value cut by MaxFieldLen or MaxMessageLen.
const truncatedMark = "…[truncated, "

// own gives e its own copies of every string, capped, so the record keeps no caller's
// buffer (such as a packet) alive. The copies share one allocation. When copyStrings is
// false (EventNoCopy), the strings are the producer's own already and are only capped.
func (e *Event) own(copyStrings bool) {
	lvl := string(e.LogLevel)
	ownAll(MaxFieldLen, copyStrings, &e.TraceID, &e.AccountID, &e.Status, &e.EventType, &e.Protocol, &e.TopicName,
		&e.ClientID, &e.PrincipalID, &e.SourceIP, &e.DestinationIP, &e.AuthenticationType, &e.ServerName,
		&e.Reason, &e.Details, &e.DisconnectReason, &e.ConnectionID, &lvl)
	e.LogLevel = Level(lvl)
}

// own gives t its own copies of its strings, capped. Data is the producer's promise: it must
// not change after the trace is recorded (see Trace).
func (t *Trace) own() {
	ownAll(MaxFieldLen, true, &t.TraceID, &t.ConnectionID, &t.ClientID, &t.Step)
	t.Message = ownString(t.Message, MaxMessageLen)
	cloned := false
	for k, v := range t.Data {
		var long string
		total := 0
		switch v := v.(type) {
		case string:
			long, total = v, len(v)
		case json.RawMessage:
			if len(v) > MaxDataLen {
				long, total = string(v[:MaxDataLen]), len(v)
			}
		}
		if total <= MaxDataLen {
			continue
		}
		if !cloned { // the producer's map is not ours to change
			t.Data, cloned = maps.Clone(t.Data), true
		}
		t.Data[k] = cut(long, MaxDataLen, total)
	}
}

// ownAll replaces each string by a copy capped at max bytes; the copies share one
// allocation, which lives as long as any of them. Unless copyStrings, only the strings
// longer than max are replaced (by their capped copies).
func ownAll(max int, copyStrings bool, ps ...*string) {
	n := 0
	for _, p := range ps {
		if len(*p) > max {
			*p = ownString(*p, max)
			continue
		}
		n += len(*p)
	}
	if !copyStrings {
		return
	}
	buf := make([]byte, 0, n)
	for _, p := range ps {
		if len(*p) == 0 || len(*p) > max || n == 0 {
			continue
		}
		start := len(buf)
		buf = append(buf, *p...)
		*p = unsafe.String(&buf[start], len(*p))
	}
}

// DataExplainer is an Explain value that also gives the trace's Data, as lazily as its
// sentence: a policy decision names the document and statement that decided.
type DataExplainer interface {
	fmt.Stringer
	TraceData() map[string]any
}

// resolve computes a lazy Message (and Data) on the Logger's goroutine.
func (t *Trace) resolve() {
	if t.Message == "" && t.Explain != nil {
		t.Message = ownString(t.Explain.String(), MaxMessageLen)
		if de, ok := t.Explain.(DataExplainer); ok && t.Data == nil {
			t.Data = de.TraceData()
		}
	}
	t.Explain = nil
}

// own caps l's strings. Unlike events and traces, a function line keeps the strings it is
// given: they come from the function runner, one fresh string per line, never from a
// device's packet, and a function that floods its log would pay for a second copy.
func (l *FunctionLine) own() {
	l.LogGroup = capString(l.LogGroup, MaxFieldLen)
	l.RequestID = capString(l.RequestID, MaxFieldLen)
	l.Message = capString(l.Message, MaxMessageLen)
}

// capString returns s, or a capped copy of it when it is longer than max.
func capString(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cut(s, max, len(s))
}

// ownString returns a copy of s that shares no memory with it, cut to at most max bytes
// (plus the truncation note). Constants and other static strings are copied too: telling
// them apart is not possible, and a short copy is cheap.
func ownString(s string, max int) string {
	if s == "" {
		return ""
	}
	if len(s) <= max {
		return strings.Clone(s)
	}
	return cut(s, max, len(s))
}

// cut returns a copy of at most the first max bytes of s, cut at a character boundary, and a
// note that the whole value had total bytes.
func cut(s string, max, total int) string {
	n := min(max, len(s))
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncatedMark + strconv.Itoa(total) + " bytes]"
}

// traceIDs makes trace IDs: a random 64-bit prefix chosen once per process and a counter,
// laid out as a version 4 UUID. They are unique within the process and cost no system call.
var traceIDs struct {
	prefix [8]byte
	next   atomic.Uint64
}

func init() { _, _ = rand.Read(traceIDs.prefix[:]) }

// NewTraceID returns a new trace ID in AWS's form, a UUID.
// AWS: every entry carries a traceId, a UUID.
func NewTraceID() string {
	var b [16]byte
	copy(b[:8], traceIDs.prefix[:])
	binary.BigEndian.PutUint64(b[8:], traceIDs.next.Add(1))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(out[:])
}
