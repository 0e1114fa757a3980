package iotlog

import (
	"encoding/json"
	"time"
)

// FunctionLine is one line of a Lambda function's log, as CloudWatch's log group
// /aws/lambda/NAME holds it: a line the function wrote, or Lambda's own START, END and REPORT
// lines around each invocation.
type FunctionLine struct {
	Time      time.Time
	LogGroup  string // "/aws/lambda/NAME"
	RequestID string // the invocation's request ID; "" for lines outside any invocation
	Message   string
}

// FunctionLogMarker is the JSON member that tells a function log line from an event or a trace.
const FunctionLogMarker = "iotemuFunctionLog"

// MarshalJSON encodes the line as
// {"iotemuFunctionLog":true,"timestamp":...,"logGroup":...,"requestId":...,"message":...}.
func (l FunctionLine) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Marker    bool   `json:"iotemuFunctionLog"`
		Timestamp string `json:"timestamp"`
		LogGroup  string `json:"logGroup"`
		RequestID string `json:"requestId,omitempty"`
		Message   string `json:"message"`
	}{true, l.Time.UTC().Format(TimestampLayout), l.LogGroup, l.RequestID, l.Message})
}

// FormatFunctionLine renders l as the text sink does, without the newline.
func FormatFunctionLine(l FunctionLine) string {
	return l.Time.UTC().Format("15:04:05.000") + " " + l.LogGroup + " " + l.Message
}
