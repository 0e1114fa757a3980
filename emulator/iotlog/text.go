package iotlog

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// textSink writes events and traces for people to read.
type textSink struct {
	*lineWriter
	verbose bool
	// pending holds, in the compact form, the latest trace of each traceId whose event has
	// not come yet: the step that decided it. The Logger calls a sink from one goroutine.
	pending map[string]Trace
	line    []byte // the line being formatted, reused
}

// maxPending bounds the traces the compact form holds for events to come; traces of a
// request that never gets an event (a connection closed before CONNECT, say) are forgotten.
const maxPending = 4096

// NewTextSink returns a sink writing for people, without color, times in UTC. Its compact
// form (verbose false) writes one line per event and, under it, the trace line that decided
// it (the last step recorded with the event's traceId):
//
//	19:02:03.123 Connect Failure MQTT client=dev1 principal=- source=10.0.0.7:50123 reason=AUTHORIZATION_FAILURE details="Authorization Failure"
//	    └ connect: denied: no statement allows iot:Connect on arn:aws:iot:...:client/dev1 (implicit deny)
//
// The verbose form writes every trace line as it comes, each Data member on its own line
// (keys sorted, value in compact JSON):
//
//	└ signature: the signature from the username verifies with key "demo-key"
//	    data.signature: "gQ0x…Kw=="
//
// Values with spaces or quotes are quoted; empty optional values are left out, except client
// and principal, shown as "-". The log pipeline's own notes (StepLog) are written in both
// forms. Function log lines are written as they come, except that the compact form leaves
// out Lambda's START and END lines (REPORT remains).
func NewTextSink(w io.Writer, verbose bool) Sink {
	return &textSink{lineWriter: newLineWriter(w), verbose: verbose, pending: make(map[string]Trace)}
}

// WriteEvent writes e as one line, followed in the compact form by its deciding trace.
func (s *textSink) WriteEvent(e Event) {
	s.line = appendEvent(s.line[:0], e)
	s.writeLine(s.line)
	if s.verbose {
		return
	}
	if len(s.pending) == 0 {
		return
	}
	if t, ok := s.pending[e.TraceID]; ok {
		delete(s.pending, e.TraceID)
		s.writeLine([]byte(formatTraceLine(t)))
	}
}

// WriteTrace writes t (verbose), or keeps it for the event it leads to (compact).
func (s *textSink) WriteTrace(t Trace) {
	switch {
	case s.verbose || t.Step == StepLog:
		s.writeLine([]byte(FormatTrace(t)))
	case t.TraceID != "":
		if len(s.pending) >= maxPending {
			clear(s.pending)
		}
		s.pending[t.TraceID] = t
	}
}

// WriteFunctionLine writes l as one line. The compact form leaves out Lambda's START and END
// lines: the REPORT line names the same invocation, with its duration.
func (s *textSink) WriteFunctionLine(l FunctionLine) {
	if !s.verbose && (strings.HasPrefix(l.Message, "START RequestId:") || strings.HasPrefix(l.Message, "END RequestId:")) {
		return
	}
	s.writeLine([]byte(FormatFunctionLine(l)))
}

// FormatEvent renders e as the text sink does, without the newline.
func FormatEvent(e Event) string { return string(appendEvent(nil, e)) }

// appendEvent appends e as FormatEvent renders it to b. The text sink formats every event
// into one reused buffer.
func appendEvent(b []byte, e Event) []byte {
	b = appendClock(b, e.Timestamp)
	for _, word := range [...]string{e.EventType, e.Status, e.Protocol} {
		if word != "" {
			b = append(append(b, ' '), word...)
		}
	}
	field := func(key, value string, always bool) {
		if value == "" && !always {
			return
		}
		if value == "" {
			value = "-"
		}
		b = append(append(append(b, ' '), key...), '=')
		b = appendQuotedIfNeeded(b, value)
	}
	field("client", e.ClientID, true)
	field("principal", e.PrincipalID, true)
	field("topic", e.TopicName, false)
	if e.SourceIP != "" {
		b = append(b, " source="...)
		b = appendHostPort(b, e.SourceIP, e.SourcePort)
	}
	field("auth", e.AuthenticationType, false)
	field("sni", e.ServerName, false)
	field("reason", e.Reason, false)
	field("details", e.Details, false)
	field("disconnect", e.DisconnectReason, false)
	return b
}

// formatTraceLine renders t's step and message as one indented line.
func formatTraceLine(t Trace) string {
	return "    └ " + t.Step + ": " + t.Message
}

// FormatTrace renders t as the verbose text sink does, without the final newline.
func FormatTrace(t Trace) string {
	var b strings.Builder
	b.WriteString(formatTraceLine(t))
	for _, k := range slices.Sorted(maps.Keys(t.Data)) {
		v, err := marshalNoHTMLEscape(t.Data[k])
		if err != nil {
			v = []byte(fmt.Sprintf("%v", t.Data[k]))
		}
		b.WriteString("\n        data." + k + ": " + string(v))
	}
	return b.String()
}

// appendHostPort appends ip and port as one field value: quoted as a whole when ip needs it
// (see joinHostPort); ip is not empty.
func appendHostPort(b []byte, ip string, port int) []byte {
	if needsQuotes(ip) {
		return strconv.AppendQuote(b, string(joinHostPort(nil, ip, port)))
	}
	return joinHostPort(b, ip, port)
}

// joinHostPort appends ip:port, or [ip]:port for IPv6, or ip alone when port is 0.
func joinHostPort(b []byte, ip string, port int) []byte {
	if port == 0 {
		return append(b, ip...)
	}
	if strings.Contains(ip, ":") {
		b = append(append(append(b, '['), ip...), ']')
	} else {
		b = append(b, ip...)
	}
	return strconv.AppendInt(append(b, ':'), int64(port), 10)
}

// appendQuotedIfNeeded appends s, quoted when it would not read as one word.
func appendQuotedIfNeeded(b []byte, s string) []byte {
	if needsQuotes(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuotes reports whether s would not read as one word: it holds a space, a quote, an
// equals sign, a backslash, a control character or anything strconv.CanBackquote refuses.
func needsQuotes(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			// The rare case: the slow test, on the rest.
			return strings.ContainsAny(s[i:], " \t\n\"=\\") || !strconv.CanBackquote(s[i:])
		case c < ' ', c == 0x7f, c == ' ', c == '"', c == '=', c == '\\', c == '`':
			return true
		}
	}
	return false
}

// appendClock appends t's time of day in UTC as 15:04:05.000, as time.Format would, without
// its layout parsing: the text sink writes one for every event.
func appendClock(b []byte, t time.Time) []byte {
	h, m, sec := t.UTC().Clock()
	ms := t.Nanosecond() / 1e6
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}
