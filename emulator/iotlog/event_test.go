package iotlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The AWS examples' shared values (developer guide, cwl-format).
const (
	docClientID    = "abf27092886e49a8a5c1922749736453"
	docPrincipalID = "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167"
	docSourceIP    = "205.251.233.181"
	docSourcePort  = 13490
	docAccountID   = "123456789012"
)

// docTime parses a timestamp as the examples write it.
func docTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.ParseInLocation(TimestampLayout, s, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// compact turns a pretty-printed example into the single line we write,
// keeping member order.
func compact(t *testing.T, pretty string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(pretty)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestEventGolden(t *testing.T) {
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{
			// AWS: developer guide, cwl-format, "Connect log entry example".
			name: "Connect",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:37:23.476"), LogLevel: LevelInfo,
				TraceID: "20b23f3f-d7f1-feae-169f-82263394fbdb", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventConnect, Protocol: ProtocolMQTT,
				ClientID: docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
				ConnectionID: "c-1",
			},
			want: `{
    "timestamp": "2017-08-10 15:37:23.476",
    "logLevel": "INFO",
    "traceId": "20b23f3f-d7f1-feae-169f-82263394fbdb",
    "accountId": "123456789012",
    "status": "Success",
    "eventType": "Connect",
    "protocol": "MQTT",
    "clientId": "abf27092886e49a8a5c1922749736453",
    "principalId": "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
    "sourceIp": "205.251.233.181",
    "sourcePort": 13490
}`,
		},
		{
			// AWS: "Disconnect log entry example" (the guide's older revision).
			name: "Disconnect",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:37:23.476"), LogLevel: LevelInfo,
				TraceID: "20b23f3f-d7f1-feae-169f-82263394fbdb", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventDisconnect, Protocol: ProtocolMQTT,
				ClientID: docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
				DisconnectReason: DisconnectClientInitiated,
			},
			want: `{
    "timestamp": "2017-08-10 15:37:23.476",
    "logLevel": "INFO",
    "traceId": "20b23f3f-d7f1-feae-169f-82263394fbdb",
    "accountId": "123456789012",
    "status": "Success",
    "eventType": "Disconnect",
    "protocol": "MQTT",
    "clientId": "abf27092886e49a8a5c1922749736453",
    "principalId": "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
    "sourceIp": "205.251.233.181",
    "sourcePort": 13490,
    "disconnectReason": "CLIENT_INITIATED_DISCONNECT"
}`,
		},
		{
			// AWS: the guide's current Disconnect example adds reason and
			// details after sourcePort. AWS (inferred): the end of details
			// and the disconnectReason that follows.
			name: "Disconnect duplicate client ID",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:37:23.476"), LogLevel: LevelInfo,
				TraceID: "20b23f3f-d7f1-feae-169f-82263394fbdb", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventDisconnect, Protocol: ProtocolMQTT,
				ClientID: docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
				Reason: ReasonDuplicateClientID, Details: DetailsDuplicateClientID,
				DisconnectReason: DisconnectDuplicateClientID,
			},
			want: `{
    "timestamp": "2017-08-10 15:37:23.476",
    "logLevel": "INFO",
    "traceId": "20b23f3f-d7f1-feae-169f-82263394fbdb",
    "accountId": "123456789012",
    "status": "Success",
    "eventType": "Disconnect",
    "protocol": "MQTT",
    "clientId": "abf27092886e49a8a5c1922749736453",
    "principalId": "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
    "sourceIp": "205.251.233.181",
    "sourcePort": 13490,
    "reason": "DUPLICATE_CLIENT_ID",
    "details": "A new connection was established with the same client ID",
    "disconnectReason": "DUPLICATE_CLIENTID"
}`,
		},
		{
			// AWS: "Publish-In log entry example".
			name: "Publish-In",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:39:30.961"), LogLevel: LevelInfo,
				TraceID: "672ec480-31ce-fd8b-b5fb-22e3ac420699", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventPublishIn, Protocol: ProtocolMQTT,
				TopicName: "$aws/things/MyThing/shadow/get",
				ClientID:  docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
			},
			want: `{
        "timestamp": "2017-08-10 15:39:30.961",
        "logLevel": "INFO",
        "traceId": "672ec480-31ce-fd8b-b5fb-22e3ac420699",
        "accountId": "123456789012",
        "status": "Success",
        "eventType": "Publish-In",
        "protocol": "MQTT",
        "topicName": "$aws/things/MyThing/shadow/get",
        "clientId": "abf27092886e49a8a5c1922749736453",
        "principalId": "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
        "sourceIp": "205.251.233.181",
        "sourcePort": 13490
    }`,
		},
		{
			// AWS: "Publish-Out log entry example".
			name: "Publish-Out",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:39:30.961"), LogLevel: LevelInfo,
				TraceID: "672ec480-31ce-fd8b-b5fb-22e3ac420699", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventPublishOut, Protocol: ProtocolMQTT,
				TopicName: "$aws/things/MyThing/shadow/get",
				ClientID:  docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
			},
			want: `{
    "timestamp": "2017-08-10 15:39:30.961",
    "logLevel": "INFO",
    "traceId": "672ec480-31ce-fd8b-b5fb-22e3ac420699",
    "accountId": "123456789012",
    "status": "Success",
    "eventType": "Publish-Out",
    "protocol": "MQTT",
    "topicName": "$aws/things/MyThing/shadow/get",
    "clientId": "abf27092886e49a8a5c1922749736453",
    "principalId": "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
    "sourceIp": "205.251.233.181",
    "sourcePort": 13490
}`,
		},
		{
			// AWS: "Subscribe log entry example".
			name: "Subscribe",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:39:04.413"), LogLevel: LevelInfo,
				TraceID: "7aa5c38d-1b49-3753-15dc-513ce4ab9fa6", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventSubscribe, Protocol: ProtocolMQTT,
				TopicName: "$aws/things/MyThing/shadow/#",
				ClientID:  docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
			},
			want: `{
    "timestamp": "2017-08-10 15:39:04.413",
    "logLevel": "INFO",
    "traceId": "7aa5c38d-1b49-3753-15dc-513ce4ab9fa6",
    "accountId": "123456789012",
    "status": "Success",
    "eventType": "Subscribe",
    "protocol": "MQTT",
    "topicName": "$aws/things/MyThing/shadow/#",
    "clientId": "abf27092886e49a8a5c1922749736453",
    "principalId": "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
    "sourceIp": "205.251.233.181",
    "sourcePort": 13490
}`,
		},
		{
			// AWS (inferred): Unsubscribe has Subscribe's members.
			name: "Unsubscribe",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:39:04.413"), LogLevel: LevelInfo,
				TraceID: "7aa5c38d-1b49-3753-15dc-513ce4ab9fa6", AccountID: docAccountID,
				Status: StatusSuccess, EventType: EventUnsubscribe, Protocol: ProtocolMQTT,
				TopicName: "$aws/things/MyThing/shadow/#",
				ClientID:  docClientID, PrincipalID: docPrincipalID, SourceIP: docSourceIP, SourcePort: docSourcePort,
			},
			want: `{"timestamp":"2017-08-10 15:39:04.413","logLevel":"INFO","traceId":"7aa5c38d-1b49-3753-15dc-513ce4ab9fa6","accountId":"123456789012","status":"Success","eventType":"Unsubscribe","protocol":"MQTT","topicName":"$aws/things/MyThing/shadow/#","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}`,
		},
		{
			// AWS: a refused Connect: reason and details follow sourcePort.
			name: "Connect AUTHORIZATION_FAILURE",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:37:23.476"), LogLevel: LevelError,
				TraceID: "20b23f3f-d7f1-feae-169f-82263394fbdb", AccountID: docAccountID,
				Status: StatusFailure, EventType: EventConnect, Protocol: ProtocolMQTT,
				ClientID: "dev1", PrincipalID: "my-principal", SourceIP: "10.0.0.7", SourcePort: 50123,
				Reason: ReasonAuthorizationFailure, Details: DetailsAuthorizationFailure,
			},
			want: `{"timestamp":"2017-08-10 15:37:23.476","logLevel":"ERROR","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Failure","eventType":"Connect","protocol":"MQTT","clientId":"dev1","principalId":"my-principal","sourceIp":"10.0.0.7","sourcePort":50123,"reason":"AUTHORIZATION_FAILURE","details":"Authorization Failure"}`,
		},
		{
			name: "Publish-In AUTHORIZATION_FAILURE",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:39:30.961"), LogLevel: LevelError,
				TraceID: "672ec480-31ce-fd8b-b5fb-22e3ac420699", AccountID: docAccountID,
				Status: StatusFailure, EventType: EventPublishIn, Protocol: ProtocolMQTT,
				TopicName: "telemetry/dev1",
				ClientID:  "dev1", PrincipalID: "my-principal", SourceIP: "10.0.0.7", SourcePort: 50123,
				Reason: ReasonAuthorizationFailure, Details: DetailsAuthorizationFailure,
			},
			want: `{"timestamp":"2017-08-10 15:39:30.961","logLevel":"ERROR","traceId":"672ec480-31ce-fd8b-b5fb-22e3ac420699","accountId":"123456789012","status":"Failure","eventType":"Publish-In","protocol":"MQTT","topicName":"telemetry/dev1","clientId":"dev1","principalId":"my-principal","sourceIp":"10.0.0.7","sourcePort":50123,"reason":"AUTHORIZATION_FAILURE","details":"Authorization Failure"}`,
		},
		{
			// AWS (inferred): member names and places of the AuthNError
			// extras; see wireEvent.
			name: "Connection.AuthNError",
			event: Event{
				Timestamp: docTime(t, "2017-08-10 15:37:23.476"), LogLevel: LevelError,
				TraceID: "20b23f3f-d7f1-feae-169f-82263394fbdb", AccountID: docAccountID,
				Status: StatusFailure, EventType: EventAuthNError, Protocol: ProtocolMQTT,
				ClientID: "dev1", SourceIP: "10.0.0.7", SourcePort: 50123,
				DestinationIP: "10.0.0.1", DestinationPort: 443,
				AuthenticationType: AuthenticationTypeCustomAuth, ServerName: "abc123-ats.iot.us-east-1.amazonaws.com",
				Reason: ReasonSignatureMismatch, Details: "Signature verification failed",
			},
			want: `{"timestamp":"2017-08-10 15:37:23.476","logLevel":"ERROR","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Failure","eventType":"Connection.AuthNError","protocol":"MQTT","clientId":"dev1","sourceIp":"10.0.0.7","sourcePort":50123,"destinationIp":"10.0.0.1","destinationPort":443,"authenticationType":"CUSTOM_AUTH","serverNameIndication":"abc123-ats.iot.us-east-1.amazonaws.com","reason":"SECURITY_TOKEN_SIGNATURE_MISMATCH","details":"Signature verification failed"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.event.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if want := compact(t, tt.want); string(got) != want {
				t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
			}
			var back Event
			if err := back.UnmarshalJSON(got); err != nil {
				t.Fatal(err)
			}
			want := tt.event
			want.ConnectionID = "" // iotemu's own; not in the AWS JSON
			if back != want {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, want)
			}
		})
	}
}

func TestEventTimestampIsUTCMilliseconds(t *testing.T) {
	loc := time.FixedZone("UTC+2", 2*3600)
	e := Event{Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 678_901_234, loc), EventType: EventConnect}
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"timestamp":"2024-01-02 01:04:05.678",`) {
		t.Errorf("got %s", b)
	}
}

func TestEventCommonAttributesAlwaysWritten(t *testing.T) {
	b, err := Event{}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"timestamp":"","logLevel":"","traceId":"","accountId":"","status":"","eventType":""}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestEventNoHTMLEscaping(t *testing.T) {
	b, err := Event{TopicName: "a/<b>&c"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"topicName":"a/<b>&c"`) {
		t.Errorf("got %s", b)
	}
}

func TestEventUnmarshalBadTimestamp(t *testing.T) {
	var e Event
	if err := e.UnmarshalJSON([]byte(`{"timestamp":"yesterday"}`)); err == nil {
		t.Error("want an error")
	}
	if err := e.UnmarshalJSON([]byte(`[`)); err == nil {
		t.Error("want an error")
	}
}

func TestMatch(t *testing.T) {
	e := Event{EventType: EventConnect, Status: StatusFailure}
	for _, tt := range []struct {
		eventType, status string
		want              bool
	}{
		{"", "", true},
		{EventConnect, "", true},
		{EventConnect, StatusFailure, true},
		{"", StatusFailure, true},
		{EventConnect, StatusSuccess, false},
		{EventDisconnect, "", false},
	} {
		if got := Match(tt.eventType, tt.status)(e); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.eventType, tt.status, got, tt.want)
		}
	}
}
