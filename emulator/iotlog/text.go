package iotlog

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// textSink writes events and traces for people to read.
type textSink struct{ out *lineWriter }

// NewTextSink returns a sink writing a readable line per event and an
// indented line per trace, without color, times in UTC:
//
//	19:02:03.123 Connect Failure MQTT client=dev1 principal=- source=10.0.0.7:50123 reason=AUTHORIZATION_FAILURE details="Authorization Failure"
//	    └ policy: no statement allows iot:Connect on arn:aws:iot:...:client/dev1
//	        data.statement: {"Effect":"Allow",...}
//
// Values with spaces or quotes are quoted; empty optional values are left
// out, except client and principal, shown as "-". Each Data member of a
// trace gets its own line, keys sorted, value in compact JSON.
func NewTextSink(w io.Writer) Sink {
	return &textSink{out: &lineWriter{w: w}}
}

// WriteEvent writes e as one line.
func (s *textSink) WriteEvent(e Event) { s.out.writeLine([]byte(FormatEvent(e))) }

// WriteTrace writes t as one or more lines.
func (s *textSink) WriteTrace(t Trace) { s.out.writeLine([]byte(FormatTrace(t))) }

// WriteFunctionLine writes l as one line.
func (s *textSink) WriteFunctionLine(l FunctionLine) {
	s.out.writeLine([]byte(FormatFunctionLine(l)))
}

// FormatEvent renders e as the text sink does, without the newline.
func FormatEvent(e Event) string {
	var b strings.Builder
	b.WriteString(e.Timestamp.UTC().Format("15:04:05.000"))
	for _, word := range []string{e.EventType, e.Status, e.Protocol} {
		if word != "" {
			b.WriteString(" " + word)
		}
	}
	field := func(key, value string, always bool) {
		if value == "" && !always {
			return
		}
		if value == "" {
			value = "-"
		}
		b.WriteString(" " + key + "=" + quoteIfNeeded(value))
	}
	field("client", e.ClientID, true)
	field("principal", e.PrincipalID, true)
	field("topic", e.TopicName, false)
	field("source", hostPort(e.SourceIP, e.SourcePort), false)
	field("auth", e.AuthenticationType, false)
	field("sni", e.ServerName, false)
	field("reason", e.Reason, false)
	field("details", e.Details, false)
	field("disconnect", e.DisconnectReason, false)
	return b.String()
}

// FormatTrace renders t as the text sink does, without the final newline.
func FormatTrace(t Trace) string {
	var b strings.Builder
	b.WriteString("    └ " + t.Step + ": " + t.Message)
	for _, k := range slices.Sorted(maps.Keys(t.Data)) {
		v, err := json.Marshal(t.Data[k])
		if err != nil {
			v = []byte(fmt.Sprintf("%v", t.Data[k]))
		}
		b.WriteString("\n        data." + k + ": " + string(v))
	}
	return b.String()
}

// hostPort joins ip and port as ip:port, or [ip]:port for IPv6; "" if ip
// is empty.
func hostPort(ip string, port int) string {
	switch {
	case ip == "":
		return ""
	case port == 0:
		return ip
	case strings.Contains(ip, ":"):
		return "[" + ip + "]:" + strconv.Itoa(port)
	default:
		return ip + ":" + strconv.Itoa(port)
	}
}

// quoteIfNeeded quotes s when it would not read as one word.
func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, " \t\n\"=\\") || !strconv.CanBackquote(s) {
		return strconv.Quote(s)
	}
	return s
}
