package iotlog

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestTraceMarshal(t *testing.T) {
	tr := Trace{
		Time:         time.Date(2024, 5, 6, 19, 2, 3, 123_000_000, time.UTC),
		TraceID:      "t-1",
		ConnectionID: "c-1",
		ClientID:     "dev1",
		Step:         StepPolicy,
		Message:      "denied: no statement allows iot:Connect on client/dev1",
		Data:         map[string]any{"resource": "arn:aws:iot:us-east-1:123456789012:client/dev1", "documents": 2},
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iotemuTrace":true,"timestamp":"2024-05-06 19:02:03.123","traceId":"t-1","connectionId":"c-1","clientId":"dev1","step":"policy","message":"denied: no statement allows iot:Connect on client/dev1","data":{"documents":2,"resource":"arn:aws:iot:us-east-1:123456789012:client/dev1"}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestTraceMarshalMinimal(t *testing.T) {
	b, err := Trace{Step: StepTLS, Message: "no SNI"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iotemuTrace":true,"timestamp":"","step":"tls","message":"no SNI"}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestTraceMarshalUnencodableData(t *testing.T) {
	b, err := Trace{Step: StepInvoke, Data: map[string]any{"fn": func() {}, "ok": "yes"}}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.Data["ok"] != "yes" || got.Data["fn"] == "" {
		t.Errorf("got %s", b)
	}
}

func TestTraceRoundTrip(t *testing.T) {
	in := Trace{
		Time: time.Date(2024, 5, 6, 19, 2, 3, 123_000_000, time.UTC), ConnectionID: "c-1",
		Step: StepResponse, Message: "valid", Data: map[string]any{"isAuthenticated": true},
	}
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out Trace
	if err := out.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if !out.Time.Equal(in.Time) || out.ConnectionID != in.ConnectionID || out.Step != in.Step ||
		out.Message != in.Message || out.Data["isAuthenticated"] != true {
		t.Errorf("got %+v, want %+v", out, in)
	}
}

func TestTraceUnmarshalRejectsEvents(t *testing.T) {
	b, err := Event{EventType: EventConnect}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var tr Trace
	if err := tr.UnmarshalJSON(b); !errors.Is(err, errNotTrace) {
		t.Errorf("got %v, want errNotTrace", err)
	}
}

func TestDecode(t *testing.T) {
	eb, _ := Event{EventType: EventSubscribe, TopicName: "a/#"}.MarshalJSON()
	tb, _ := Trace{Step: StepSubscribe, Message: "allowed"}.MarshalJSON()

	e, tr, err := Decode(eb)
	if err != nil || tr != nil || e == nil || e.EventType != EventSubscribe || e.TopicName != "a/#" {
		t.Errorf("event line: %+v %+v %v", e, tr, err)
	}
	e, tr, err = Decode(tb)
	if err != nil || e != nil || tr == nil || tr.Step != StepSubscribe {
		t.Errorf("trace line: %+v %+v %v", e, tr, err)
	}
	for _, bad := range []string{`nope`, `{"iotemuTrace":false}`, `{"timestamp":"x"}`} {
		if _, _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s): want an error", bad)
		}
	}
}
