package iotlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Trace steps used by the emulator. Step is free text; these keep the names
// consistent between packages and in the text sink.
const (
	StepTLS        = "tls"
	StepAuthorizer = "authorizer"
	StepSignature  = "signature"
	StepInvoke     = "invoke"
	StepResponse   = "response"
	StepPolicy     = "policy"
	StepConnect    = "connect"
	StepPublish    = "publish"
	StepSubscribe  = "subscribe"
	StepReceive    = "receive"
	// StepLog: the log pipeline's own notes (records dropped by a full queue).
	StepLog = "log"
)

// TraceMarker is the JSON member, always true and written first, that tells
// a trace line from an AWS event line in a JSON lines stream.
const TraceMarker = "iotemuTrace"

// Trace is one record of the decision trace: a step AWS performs silently,
// explained.
type Trace struct {
	Time         time.Time
	TraceID      string // the traceId of the event this step leads to, if known
	ConnectionID string
	ClientID     string
	Step         string // e.g. StepPolicy
	Message      string // one human sentence
	// Explain, when Message is empty, gives the sentence lazily: the Logger calls its String
	// method on its own goroutine, off the producer's path. It must be safe to call later,
	// from another goroutine (an immutable value such as a policy decision). Sinks always
	// see Message set and Explain nil.
	Explain fmt.Stringer
	// Data is optional structured detail: the event sent to the Lambda, the
	// response received, the statement that decided. It must not be changed
	// after the trace is logged.
	Data map[string]any
}

// wireTrace is the JSON form of Trace, in this member order.
type wireTrace struct {
	Marker       bool                       `json:"iotemuTrace"`
	Timestamp    string                     `json:"timestamp"`
	TraceID      string                     `json:"traceId,omitempty"`
	ConnectionID string                     `json:"connectionId,omitempty"`
	ClientID     string                     `json:"clientId,omitempty"`
	Step         string                     `json:"step"`
	Message      string                     `json:"message"`
	Data         map[string]json.RawMessage `json:"data,omitempty"`
}

// MarshalJSON encodes t as
//
//	{"iotemuTrace":true,"timestamp":"2006-01-02 15:04:05.000","traceId":"...",
//	 "connectionId":"...","clientId":"...","step":"policy","message":"...","data":{...}}
//
// The timestamp has the layout and time zone of event timestamps, so both
// sort together; traceId, connectionId, clientId and data are left out when
// empty. A Data value that cannot be encoded as JSON is written as its
// fmt %v string instead of failing the whole record.
func (t Trace) MarshalJSON() ([]byte, error) {
	w := wireTrace{
		Marker:       true,
		Timestamp:    formatTime(t.Time),
		TraceID:      t.TraceID,
		ConnectionID: t.ConnectionID,
		ClientID:     t.ClientID,
		Step:         t.Step,
		Message:      t.Message,
	}
	if len(t.Data) > 0 {
		w.Data = make(map[string]json.RawMessage, len(t.Data))
		for k, v := range t.Data {
			b, err := marshalNoHTMLEscape(v)
			if err != nil {
				b, _ = marshalNoHTMLEscape(fmt.Sprintf("%v", v))
			}
			w.Data[k] = b
		}
	}
	return marshalNoHTMLEscape(w)
}

// errNotTrace is returned when decoding a JSON object without the marker.
var errNotTrace = errors.New("iotlog: not a trace: " + TraceMarker + " is not true")

// UnmarshalJSON decodes a record written by MarshalJSON. It fails on an
// object whose iotemuTrace member is not true (such as an AWS event).
func (t *Trace) UnmarshalJSON(b []byte) error {
	var w struct {
		Marker       bool           `json:"iotemuTrace"`
		Timestamp    string         `json:"timestamp"`
		TraceID      string         `json:"traceId"`
		ConnectionID string         `json:"connectionId"`
		ClientID     string         `json:"clientId"`
		Step         string         `json:"step"`
		Message      string         `json:"message"`
		Data         map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	if !w.Marker {
		return errNotTrace
	}
	ts, err := parseTime(w.Timestamp)
	if err != nil {
		return err
	}
	*t = Trace{
		Time:         ts,
		TraceID:      w.TraceID,
		ConnectionID: w.ConnectionID,
		ClientID:     w.ClientID,
		Step:         w.Step,
		Message:      w.Message,
		Data:         w.Data,
	}
	return nil
}

// Decode reads one JSON line written by a JSON sink: an AWS event or a
// trace. Exactly one of the results is non-nil when err is nil.
func Decode(line []byte) (*Event, *Trace, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(line, &probe); err != nil {
		return nil, nil, err
	}
	if _, ok := probe[TraceMarker]; ok {
		var t Trace
		if err := t.UnmarshalJSON(line); err != nil {
			return nil, nil, err
		}
		return nil, &t, nil
	}
	var e Event
	if err := e.UnmarshalJSON(line); err != nil {
		return nil, nil, err
	}
	return &e, nil, nil
}
