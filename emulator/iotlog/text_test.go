package iotlog

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFormatEvent(t *testing.T) {
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{
			name: "connect failure",
			event: Event{Timestamp: testTime, Status: StatusFailure, EventType: EventConnect, Protocol: ProtocolMQTT,
				ClientID: "dev1", SourceIP: "10.0.0.7", SourcePort: 50123,
				Reason: ReasonAuthorizationFailure, Details: DetailsAuthorizationFailure, TraceID: "hidden", AccountID: "hidden"},
			want: `19:02:03.123 Connect Failure MQTT client=dev1 principal=- source=10.0.0.7:50123 reason=AUTHORIZATION_FAILURE details="Authorization Failure"`,
		},
		{
			name: "publish in another zone",
			event: Event{Timestamp: testTime.In(time.FixedZone("X", -5*3600)), Status: StatusSuccess, EventType: EventPublishIn,
				Protocol: ProtocolHTTP, ClientID: "dev1", PrincipalID: "p1", TopicName: "a/b", SourceIP: "::1", SourcePort: 443},
			want: `19:02:03.123 Publish-In Success HTTP client=dev1 principal=p1 topic=a/b source=[::1]:443`,
		},
		{
			name: "disconnect",
			event: Event{Timestamp: testTime, Status: StatusSuccess, EventType: EventDisconnect, ClientID: "dev 1",
				PrincipalID: `p"1`, SourceIP: "10.0.0.7", DisconnectReason: DisconnectCustomAuthTTLExpiration},
			want: `19:02:03.123 Disconnect Success client="dev 1" principal="p\"1" source=10.0.0.7 disconnect=CUSTOMAUTH_TTL_EXPIRATION`,
		},
		{
			name: "authn error",
			event: Event{Timestamp: testTime, Status: StatusFailure, EventType: EventAuthNError, Protocol: ProtocolMQTT,
				AuthenticationType: AuthenticationTypeCustomAuth, ServerName: "x-ats.iot.us-east-1.amazonaws.com", Reason: ReasonAuthorizerNotFound},
			want: `19:02:03.123 Connection.AuthNError Failure MQTT client=- principal=- auth=CUSTOM_AUTH sni=x-ats.iot.us-east-1.amazonaws.com reason=CUSTOM_AUTHORIZER_NOT_FOUND`,
		},
		{
			name:  "source that needs quotes",
			event: Event{Timestamp: testTime, Status: StatusSuccess, EventType: EventPublishOut, SourceIP: "a b", SourcePort: 7},
			want:  `19:02:03.123 Publish-Out Success client=- principal=- source="a b:7"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatEvent(tt.event); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFormatTrace(t *testing.T) {
	got := FormatTrace(Trace{Step: StepPolicy, Message: "denied: no statement allows iot:Connect on client/dev1",
		Data: map[string]any{"resource": "client/dev1", "documents": []int{1, 2}, "fn": func() {}}})
	want := "    └ policy: denied: no statement allows iot:Connect on client/dev1\n" +
		"        data.documents: [1,2]\n" +
		"        data.fn: "
	if len(got) <= len(want) || got[:len(want)] != want {
		t.Fatalf("got:\n%s\nwant prefix:\n%s", got, want)
	}
	if tail := got[len(got)-len("\n        data.resource: \"client/dev1\""):]; tail != "\n        data.resource: \"client/dev1\"" {
		t.Errorf("got:\n%s", got)
	}
}

func TestTextSinkVerbose(t *testing.T) {
	var buf bytes.Buffer
	s := NewTextSink(&buf, true)
	s.WriteTrace(Trace{Step: StepSignature, Message: "verified with key \"k1\"", Data: map[string]any{"keyName": "k1"}})
	s.WriteEvent(Event{Timestamp: testTime, Status: StatusSuccess, EventType: EventConnect, ClientID: "dev1", PrincipalID: "p1"})
	s.(Flusher).Flush()
	want := "    └ signature: verified with key \"k1\"\n" +
		"        data.keyName: \"k1\"\n" +
		"19:02:03.123 Connect Success client=dev1 principal=p1\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// The compact form writes one line per event and the last trace line of its traceId under
// it; other traces only in the verbose form, except the log's own notes.
func TestTextSinkCompact(t *testing.T) {
	var buf bytes.Buffer
	s := NewTextSink(&buf, false)
	s.WriteTrace(Trace{TraceID: "t1", Step: StepSignature, Message: "verified", Data: map[string]any{"keyName": "k1"}})
	s.WriteTrace(Trace{TraceID: "t1", Step: StepPolicy, Message: "allowed by statement 0"})
	s.WriteTrace(Trace{TraceID: "t0", Step: StepTLS, Message: "closed before CONNECT"})
	s.WriteTrace(Trace{Step: StepLog, Message: "3 log records were dropped"})
	s.WriteEvent(Event{Timestamp: testTime, TraceID: "t1", Status: StatusSuccess, EventType: EventConnect, ClientID: "dev1", PrincipalID: "p1"})
	s.WriteEvent(Event{Timestamp: testTime, TraceID: "t2", Status: StatusSuccess, EventType: EventDisconnect, ClientID: "dev1", PrincipalID: "p1"})
	for _, m := range []string{"START RequestId: r1 Version: $LATEST", "checking the token", "END RequestId: r1", "REPORT RequestId: r1\tDuration: 1.00 ms"} {
		s.WriteFunctionLine(FunctionLine{Time: testTime, LogGroup: "/aws/lambda/fn", RequestID: "r1", Message: m})
	}
	s.(Flusher).Flush()
	want := "    └ log: 3 log records were dropped\n" +
		"19:02:03.123 Connect Success client=dev1 principal=p1\n" +
		"    └ policy: allowed by statement 0\n" +
		"19:02:03.123 Disconnect Success client=dev1 principal=p1\n" +
		"19:02:03.123 /aws/lambda/fn checking the token\n" +
		"19:02:03.123 /aws/lambda/fn REPORT RequestId: r1\tDuration: 1.00 ms\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// Trace data is written as AWS writes JSON: <, > and & as they are.
func TestFormatTraceDoesNotEscapeHTML(t *testing.T) {
	got := FormatTrace(Trace{Step: "event", Message: "sent", Data: map[string]any{"token": Redact("allow")}})
	if !strings.Contains(got, `data.token: "<redacted sha256:41008373, 5 bytes>"`) {
		t.Errorf("got %s", got)
	}
}

// TestNeedsQuotes checks the byte loop against its definition: a space, tab, newline, quote,
// equals sign or backslash, or anything strconv.CanBackquote refuses.
func TestNeedsQuotes(t *testing.T) {
	for _, s := range []string{"", "dev1", "a b", "a\tb", "a\nb", `a"b`, "a=b", `a\b`, "a`b", "a\x7fb", "a\x00b",
		"héllo", "hé llo", "hé=", "\xff", "a\xffb", "\ufeff", "日本/topic", "topic/#", "$aws/things/x"} {
		want := strings.ContainsAny(s, " \t\n\"=\\") || !strconv.CanBackquote(s)
		if got := needsQuotes(s); got != want {
			t.Errorf("needsQuotes(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestAppendClock checks the text sink's time of day against time.Format.
func TestAppendClock(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 29, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 11, 29, 9, 5, 7, 42_000_000, time.FixedZone("x", 3600)),
	} {
		if got, want := string(appendClock(nil, ts)), ts.UTC().Format("15:04:05.000"); got != want {
			t.Errorf("appendClock(%v) = %s, want %s", ts, got, want)
		}
	}
}
