package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestPublishInRetain: a retained publish's Publish-In entry carries AWS's "retain": "True",
// over MQTT (paho) and over HTTPS (curl, ?retain=true); a publish without RETAIN carries no
// retain member at all.
func TestPublishInRetain(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	c, err := newDevice(t, emu, "retain-log").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, retained := range []bool{true, false} {
		topic := map[bool]string{true: "t/mqtt-retained", false: "t/mqtt-plain"}[retained]
		if tok := c.Publish(topic, 1, retained, "x"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
			t.Fatalf("publish to %s: %v", topic, tok.Error())
		}
		in := waitEvent(t, emu, "Publish-In", "Success", "topicName="+topic)
		expectRetainMember(t, in.MarshalJSON, retained)
	}
	for _, retained := range []bool{true, false} {
		topic := map[bool]string{true: "t/https-retained", false: "t/https-plain"}[retained]
		query := map[bool]string{true: "qos=1&retain=true", false: "qos=1"}[retained]
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...),
			"--data-binary", "x", topicURL(emu, topic, query))...)
		expectBody(t, status, body, http.StatusOK, "OK")
		in := waitEvent(t, emu, "Publish-In", "Success", "topicName="+topic)
		if in.Protocol != "HTTP" {
			t.Errorf("Publish-In protocol %q; want HTTP", in.Protocol)
		}
		expectRetainMember(t, in.MarshalJSON, retained)
	}
}

// expectRetainMember checks the retain member of an entry's AWS JSON: "True" when retained,
// absent otherwise.
func expectRetainMember(t *testing.T, marshal func() ([]byte, error), retained bool) {
	t.Helper()
	b, err := marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m["retain"]
	if retained && v != "True" || !retained && ok {
		t.Errorf("Publish-In %s: retain member %v (present %t); want \"True\" only when retained", b, v, ok)
	}
}
