package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// get fetches a console URL and decodes its JSON answer into v.
func get(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, b)
	}
}

// TestAPI: the console's JSON API over a running emulator and a real device.
func TestAPI(t *testing.T) {
	emu, key := startEmulator(t)
	base := "http://" + emu.AdminAddr().String()
	if _, err := connect(t, emu, "dev1", key); err != nil {
		t.Fatal(err)
	}
	// The Connect event is logged once mochi has sent CONNACK: wait for it.
	waitEvent(t, emu, func(e iotlog.Event) bool { return e.ClientID == "dev1" && e.EventType == iotlog.EventConnect })

	var events struct {
		Events []struct {
			Pos        uint64          `json:"pos"`
			Authorizer string          `json:"authorizer"`
			Event      json.RawMessage `json:"event"`
		} `json:"events"`
	}
	get(t, base+"/console/api/events?client=dev1&type=Connect", &events)
	if len(events.Events) != 1 || events.Events[0].Authorizer != authName || !strings.Contains(string(events.Events[0].Event), `"eventType":"Connect"`) {
		t.Fatalf("events = %+v, want dev1's Connect through %s", events, authName)
	}

	var conns struct {
		Total       int `json:"total"`
		Connections []struct {
			ClientID        string   `json:"clientId"`
			PolicyDocuments []string `json:"policyDocuments"`
		} `json:"connections"`
	}
	get(t, base+"/console/api/connections", &conns)
	if conns.Total != 1 || conns.Connections[0].ClientID != "dev1" || len(conns.Connections[0].PolicyDocuments) != 1 {
		t.Fatalf("connections = %+v", conns)
	}
}

// TestCrossSiteRefused: a page of another site cannot change the emulator through the
// console: neither the control plane it mounts nor the clock.
func TestCrossSiteRefused(t *testing.T) {
	emu, _ := startEmulator(t)
	base := "http://" + emu.AdminAddr().String()
	before := emu.Clock().Now()
	for _, r := range []struct{ method, path, body string }{
		{"PUT", "/console/aws/authorizer/" + authName, `{"status":"INACTIVE"}`},
		{"POST", "/clock/advance?by=1h", ""},
	} {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://attacker.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s from another site: %s, want 403", r.method, r.path, resp.Status)
		}
	}
	if !emu.Clock().Now().Equal(before) {
		t.Error("the clock moved")
	}
	var list struct {
		Authorizers []struct{ AuthorizerName string } `json:"authorizers"`
	}
	get(t, base+"/console/aws/authorizers/", &list)
	var d struct {
		AuthorizerDescription struct{ Status string } `json:"authorizerDescription"`
	}
	get(t, base+"/console/aws/authorizer/"+authName, &d)
	if d.AuthorizerDescription.Status != "ACTIVE" {
		t.Errorf("status = %q after a cross-site request, want ACTIVE", d.AuthorizerDescription.Status)
	}
}
