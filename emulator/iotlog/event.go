// Package iotlog records what the emulator does, in two forms.
//
// Events are AWS IoT log entries: the JSON lines AWS IoT Core writes to the
// CloudWatch log group AWSIotLogsV2 (v2 logging), with the same field names,
// field order, timestamp format and values, so that queries and tooling
// written against AWS logs work on the emulator's output unchanged.
//
// Traces are the emulator's own decision trace: one record per step of a
// connection (TLS, authorizer choice, signature, Lambda invocation, response
// validation, policy decision, ...) explaining why the event that follows
// came out the way it did. AWS never shows this. In JSON a trace is an object
// whose first member is "iotemuTrace": true; events never carry that member.
//
// A Logger is the pipeline between the parts of the emulator that record
// what happened (producers) and the sinks that subscribe to it: JSON lines
// (NewJSONSink, OpenFile), text for humans (NewTextSink), the in-memory store
// for tests and the Go API (NewMemory), and any Sink a program subscribes.
// Recording is cheap and never waits for a sink: records go through a
// bounded queue to one goroutine that feeds the sinks; what does not fit is
// counted, reported in the log, and visible in Stats. See Logger.
//
// Secrets (tokens, signatures, passwords) are never written by default:
// producers record them through Redact (a short hash) and ShortSignature
// (the first and last characters), unless the user opts in for local
// debugging (the emulator's log.showSecrets).
//
// Readers: a program that needs every record from now on subscribes a Sink
// (Logger.Subscribe); one that reads what is stored uses a Memory (Events,
// EventsSince for a cursor, Traces, FunctionLines, WaitEvent).
package iotlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Event types (the eventType field) of the message broker entries the
// emulator writes.
const (
	EventConnect     = "Connect"
	EventDisconnect  = "Disconnect"
	EventPublishIn   = "Publish-In"
	EventPublishOut  = "Publish-Out"
	EventSubscribe   = "Subscribe"
	EventUnsubscribe = "Unsubscribe"
	EventAuthNError  = "Connection.AuthNError"
)

// Values of the status field.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"
)

// Values of the protocol field.
const (
	ProtocolMQTT = "MQTT"
	ProtocolHTTP = "HTTP"
)

// Values of the reason field.
const (
	// AWS: authorization failures (policy denies Connect, Publish, Subscribe, Receive).
	ReasonAuthorizationFailure = "AUTHORIZATION_FAILURE"
	// AWS: Connection.AuthNError reasons for custom authentication.
	ReasonAuthorizerNotFound         = "CUSTOM_AUTHORIZER_NOT_FOUND"
	ReasonAuthorizerParameterInvalid = "CUSTOM_AUTHORIZER_PARAMETER_INVALID"
	ReasonLambdaExecutionError       = "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR"
	ReasonNotAuthenticated           = "NOT_AUTHENTICATED"
	ReasonSignatureMismatch          = "SECURITY_TOKEN_SIGNATURE_MISMATCH"
	ReasonSNIMisused                 = "SNI_MISUSED"
	ReasonInternalServerError        = "INTERNAL_SERVER_ERROR"
	// AWS: the Disconnect example of the developer guide carries this reason
	// (spelled with an underscore, unlike DisconnectDuplicateClientID).
	ReasonDuplicateClientID = "DUPLICATE_CLIENT_ID"
)

// Values of the details field that AWS writes verbatim. Callers set Details;
// the encoder never fills it in.
const (
	// AWS: details of every AUTHORIZATION_FAILURE entry.
	DetailsAuthorizationFailure = "Authorization Failure"
	// AWS (inferred): the guide's Disconnect example is cut in the stored copy
	// after "A new connection was established with the"; the rest is inferred.
	DetailsDuplicateClientID = "A new connection was established with the same client ID"
)

// Values of the disconnectReason field.
const (
	DisconnectClientInitiated         = "CLIENT_INITIATED_DISCONNECT"
	DisconnectAuthError               = "AUTH_ERROR"
	DisconnectCustomAuthTTLExpiration = "CUSTOMAUTH_TTL_EXPIRATION"
	DisconnectDuplicateClientID       = "DUPLICATE_CLIENTID"
	DisconnectKeepAliveTimeout        = "MQTT_KEEP_ALIVE_TIMEOUT"
	DisconnectConnectionLost          = "CONNECTION_LOST"
	DisconnectClientError             = "CLIENT_ERROR"
	DisconnectServerInitiated         = "SERVER_INITIATED_DISCONNECT"
	DisconnectAPIInitiated            = "API_INITIATED_DISCONNECT"
)

// AuthenticationTypeCustomAuth is the authenticationType of a Connection.AuthNError
// entry for a custom-authorizer connection.
const AuthenticationTypeCustomAuth = "CUSTOM_AUTH"

// TimestampLayout is the layout of the timestamp field, always in UTC.
// AWS: "timestamp": "2017-08-10 15:37:23.476".
const TimestampLayout = "2006-01-02 15:04:05.000"

// Event is one AWS IoT log entry. MarshalJSON writes it exactly as AWS
// does; every field but ConnectionID appears in that JSON when set.
type Event struct {
	Timestamp time.Time
	LogLevel  Level
	TraceID   string
	AccountID string
	Status    string // StatusSuccess or StatusFailure
	EventType string // one of the Event* constants
	Protocol  string // ProtocolMQTT or ProtocolHTTP

	// TopicName is the topic (Publish-In, Publish-Out) or topic filter
	// (Subscribe, Unsubscribe).
	TopicName string

	ClientID    string
	PrincipalID string
	SourceIP    string
	SourcePort  int

	// DestinationIP and DestinationPort are the address the device
	// connected to (Connection.AuthNError).
	DestinationIP   string
	DestinationPort int

	// AuthenticationType is AuthenticationTypeCustomAuth for the custom authentication
	// failures the emulator reports (Connection.AuthNError).
	AuthenticationType string

	// ServerName is the SNI the device sent (Connection.AuthNError).
	ServerName string

	Reason           string // one of the Reason* constants, on failures
	Details          string // e.g. DetailsAuthorizationFailure
	DisconnectReason string // one of the Disconnect* constants

	// ConnectionID links the event to the decision trace of its connection.
	// It is iotemu's own and never appears in the AWS JSON.
	ConnectionID string
}

// wireEvent is the JSON form of Event. Its field order is the order AWS
// writes.
//
// AWS: the developer guide's examples (cwl-format) share one order:
// timestamp, logLevel, traceId, accountId, status, eventType, protocol,
// topicName (publish and subscribe entries), clientId, principalId,
// sourceIp, sourcePort, then reason, details, disconnectReason.
// The six common attributes are always written; the rest only when set.
// AWS (inferred): where the Connection.AuthNError members go (destinationIp,
// destinationPort, authenticationType, serverNameIndication) and the names of
// the destination and SNI members: the stored copies of the guide do not
// reach that section; AWS's announcement lists the authentication type, the
// SNI and the source and destination address and port.
type wireEvent struct {
	Timestamp          string `json:"timestamp"`
	LogLevel           Level  `json:"logLevel"`
	TraceID            string `json:"traceId"`
	AccountID          string `json:"accountId"`
	Status             string `json:"status"`
	EventType          string `json:"eventType"`
	Protocol           string `json:"protocol,omitempty"`
	TopicName          string `json:"topicName,omitempty"`
	ClientID           string `json:"clientId,omitempty"`
	PrincipalID        string `json:"principalId,omitempty"`
	SourceIP           string `json:"sourceIp,omitempty"`
	SourcePort         int    `json:"sourcePort,omitempty"`
	DestinationIP      string `json:"destinationIp,omitempty"`
	DestinationPort    int    `json:"destinationPort,omitempty"`
	AuthenticationType string `json:"authenticationType,omitempty"`
	ServerName         string `json:"serverNameIndication,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Details            string `json:"details,omitempty"`
	DisconnectReason   string `json:"disconnectReason,omitempty"`
}

// MarshalJSON encodes e as AWS IoT writes it: AWS's member names and order,
// the timestamp in UTC as TimestampLayout, optional members left out when
// empty. It fills in nothing: defaults are the Logger's job. <, > and &
// are written as they are; json.Marshal(e) would still escape them, so the
// sinks call MarshalJSON directly.
func (e Event) MarshalJSON() ([]byte, error) {
	return marshalNoHTMLEscape(wireEvent{
		Timestamp:          formatTime(e.Timestamp),
		LogLevel:           e.LogLevel,
		TraceID:            e.TraceID,
		AccountID:          e.AccountID,
		Status:             e.Status,
		EventType:          e.EventType,
		Protocol:           e.Protocol,
		TopicName:          e.TopicName,
		ClientID:           e.ClientID,
		PrincipalID:        e.PrincipalID,
		SourceIP:           e.SourceIP,
		SourcePort:         e.SourcePort,
		DestinationIP:      e.DestinationIP,
		DestinationPort:    e.DestinationPort,
		AuthenticationType: e.AuthenticationType,
		ServerName:         e.ServerName,
		Reason:             e.Reason,
		Details:            e.Details,
		DisconnectReason:   e.DisconnectReason,
	})
}

// UnmarshalJSON decodes an entry written by MarshalJSON (or by AWS). The
// timestamp is read as TimestampLayout in UTC; an empty one gives a zero
// time.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	ts, err := parseTime(w.Timestamp)
	if err != nil {
		return err
	}
	*e = Event{
		Timestamp:          ts,
		LogLevel:           w.LogLevel,
		TraceID:            w.TraceID,
		AccountID:          w.AccountID,
		Status:             w.Status,
		EventType:          w.EventType,
		Protocol:           w.Protocol,
		TopicName:          w.TopicName,
		ClientID:           w.ClientID,
		PrincipalID:        w.PrincipalID,
		SourceIP:           w.SourceIP,
		SourcePort:         w.SourcePort,
		DestinationIP:      w.DestinationIP,
		DestinationPort:    w.DestinationPort,
		AuthenticationType: w.AuthenticationType,
		ServerName:         w.ServerName,
		Reason:             w.Reason,
		Details:            w.Details,
		DisconnectReason:   w.DisconnectReason,
	}
	return nil
}

// Match returns a predicate for Memory.WaitEvent that accepts events of the
// given type and status; an empty argument accepts any value.
func Match(eventType, status string) func(Event) bool {
	return func(e Event) bool {
		return (eventType == "" || e.EventType == eventType) &&
			(status == "" || e.Status == status)
	}
}

// formatTime writes t as TimestampLayout in UTC; the zero time gives "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimestampLayout)
}

// parseTime reads TimestampLayout in UTC; "" gives the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(TimestampLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("iotlog: timestamp %q: %w", s, err)
	}
	return t, nil
}

// marshalNoHTMLEscape is json.Marshal without escaping <, > and &, which
// AWS writes as they are (they can occur in topic names and client IDs).
func marshalNoHTMLEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
