package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
)

// TestAdminEndpoint: a black-box test moves a running emulator's clock over HTTP to make
// disconnectAfterInSeconds happen now, and reads health and metrics.
func TestAdminEndpoint(t *testing.T) {
	t.Parallel()
	seq := newSequence(map[string][]events.IoTCoreCustomAuthorizerResponse{"adm": {answer(0, 300, openPolicy...)}})
	cfg := config(seq.handle)
	cfg.Listen.Admin = "127.0.0.1:0"
	emu := emulator.NewTestWithOptions(t, cfg, emulator.Options{Clock: clock.NewAdjustable()})
	base := "http://" + emu.AdminAddr().String()

	get := func(path string) map[string]any {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return v
	}
	if h := get("/health"); h["status"] != "ok" {
		t.Fatalf("health %v", h)
	}
	c, err := newDevice(t, emu, "adm").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/clock/advance?by=300s", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("advance: %v %v", resp, err)
	}
	resp.Body.Close()
	c.waitLost(t, "not disconnected after advancing the clock past disconnectAfterInSeconds")
	waitEvent(t, emu, "Disconnect", "Success", "clientId=adm", "disconnectReason=CUSTOMAUTH_TTL_EXPIRATION")
	if m := get("/metrics")["auth-fn"].(map[string]any); m["invocations"] != 1.0 {
		t.Fatalf("metrics %v", m)
	}
	if l, ok := get("/metrics")["iotemu.log"].(map[string]any); !ok || l["recorded"].(float64) < 1 || l["dropped"] != 0.0 ||
		l["memoryLimitBytes"] != float64(64<<20) {
		t.Fatalf("log metrics %v", l)
	}
	resp, _ = http.Post(base+"/clock/advance?by=soon", "", nil)
	if resp.StatusCode != 400 {
		t.Fatalf("a bad duration: %d", resp.StatusCode)
	}
	resp.Body.Close()
	if !strings.HasPrefix(get("/clock")["now"].(string), "20") {
		t.Fatal("clock has no time")
	}
}

// TestAdminClockAdvanceIsValidatedAndSaturates: the clock never goes backwards, whatever
// POST /clock/advance is given (a duration of 292 years once landed the clock in 1734).
func TestAdminClockAdvanceIsValidatedAndSaturates(t *testing.T) {
	t.Parallel()
	cfg := config(newSequence(nil).handle)
	cfg.Listen.Admin = "127.0.0.1:0"
	emu := emulator.NewTestWithOptions(t, cfg, emulator.Options{Clock: clock.NewAdjustable()})
	base := "http://" + emu.AdminAddr().String()
	advance := func(by string) (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/clock/advance?by="+url.QueryEscape(by), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, v["now"] + v["message"]
	}
	for _, by := range []string{"", "-1s", "-9223372036854775807ns", "1 hour"} {
		if status, msg := advance(by); status != http.StatusBadRequest {
			t.Errorf("by=%q: %d %s, want 400", by, status, msg)
		}
	}
	before := emu.Clock().Now()
	for _, by := range []string{"1h", "9223372036854775807ns", "9223372036854775807ns", "1h"} {
		status, now := advance(by)
		got, err := time.Parse(time.RFC3339Nano, now)
		if status != http.StatusOK || err != nil || got.Before(before) {
			t.Fatalf("by=%s: %d %q (%v), want a time after %v", by, status, now, err, before)
		}
		before = got
	}
}
