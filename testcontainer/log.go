package testcontainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one AWS IoT log entry, as the emulator writes it to stdout with log.format json: the
// fields of AWS IoT's v2 logging, in CloudWatch Logs group AWSIotLogsV2.
type Event struct {
	Timestamp          string `json:"timestamp"`
	LogLevel           string `json:"logLevel"`
	TraceID            string `json:"traceId"`
	AccountID          string `json:"accountId"`
	Status             string `json:"status"`    // Success or Failure
	EventType          string `json:"eventType"` // Connect, Connection.AuthNError, Publish-In, ...
	Protocol           string `json:"protocol"`
	TopicName          string `json:"topicName"`
	ClientID           string `json:"clientId"`
	PrincipalID        string `json:"principalId"`
	SourceIP           string `json:"sourceIp"`
	SourcePort         int    `json:"sourcePort"`
	DestinationIP      string `json:"destinationIp"`
	DestinationPort    int    `json:"destinationPort"`
	AuthenticationType string `json:"authenticationType"`
	ServerName         string `json:"serverNameIndication"`
	Reason             string `json:"reason"`
	Details            string `json:"details"`
	DisconnectReason   string `json:"disconnectReason"`
}

// Trace is one step of the emulator's decision trace, which AWS never shows: why a connection
// was refused before any event (the SNI, ALPN and port rules), which key verified a signature,
// what the authorizer answered, which policy statement decided.
type Trace struct {
	Timestamp    string                     `json:"timestamp"`
	TraceID      string                     `json:"traceId"`
	ConnectionID string                     `json:"connectionId"`
	ClientID     string                     `json:"clientId"`
	Step         string                     `json:"step"` // tls, authorizer, signature, invoke, policy, ...
	Message      string                     `json:"message"`
	Data         map[string]json.RawMessage `json:"data"`
}

// Events returns the AWS IoT events the emulator has written so far, oldest first. They are
// parsed from the container's log, so the configuration must set log.format json (the image's
// and the generated one do).
func (c *Container) Events(ctx context.Context) ([]Event, error) {
	events, _, err := c.readLog(ctx)
	return events, err
}

// Traces returns the decision trace the emulator has written so far, oldest first (log.format
// json, as for Events).
func (c *Container) Traces(ctx context.Context) ([]Trace, error) {
	_, traces, err := c.readLog(ctx)
	return traces, err
}

// WaitForEvent polls the log until an event satisfies match and returns it, or fails when ctx
// ends. A client learns of a refusal before the emulator has logged it, so a test that looks
// for the event should wait for it.
func (c *Container) WaitForEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		events, err := c.Events(ctx)
		if err != nil {
			return Event{}, err
		}
		for _, e := range events {
			if match(e) {
				return e, nil
			}
		}
		select {
		case <-ctx.Done():
			return Event{}, fmt.Errorf("iotemu: no matching event among %d: %w", len(events), ctx.Err())
		case <-tick.C:
		}
	}
}

// readLog reads the container's whole log and sorts its JSON lines into events and traces;
// other lines (the start-up banner, the authorizer's own log lines) are skipped.
func (c *Container) readLog(ctx context.Context) ([]Event, []Trace, error) {
	rc, err := c.Logs(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("iotemu: read the container log: %w", err)
	}
	defer rc.Close()
	var events []Event
	var traces []Trace
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var kind struct {
			Trace       bool   `json:"iotemuTrace"`
			FunctionLog bool   `json:"iotemuFunctionLog"`
			EventType   string `json:"eventType"`
		}
		if json.Unmarshal(line, &kind) != nil {
			continue
		}
		switch {
		case kind.Trace:
			var t Trace
			if json.Unmarshal(line, &t) == nil {
				traces = append(traces, t)
			}
		case kind.FunctionLog || kind.EventType == "":
		default:
			var e Event
			if json.Unmarshal(line, &e) == nil {
				events = append(events, e)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("iotemu: read the container log: %w", err)
	}
	return events, traces, nil
}
