package emulator_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// exampleAuthorizer builds examples/authorizer once per test binary, as a user builds the
// bootstrap they deploy.
var exampleAuthorizer = sync.OnceValues(func() (string, error) {
	return buildFunction("bootstrap", "github.com/iotemu/iotemu/examples/authorizer")
})

// buildFunction builds a static Linux executable, as provided.al2023 runs it, into sharedDir.
func buildFunction(name, pkg string) (string, error) {
	out := filepath.Join(sharedDir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{pkg, string(b), err}
	}
	return out, nil
}

type buildError struct {
	pkg, out string
	err      error
}

func (e *buildError) Error() string {
	return "go build " + e.pkg + ": " + e.err.Error() + "\n" + e.out
}

func executableConfig(t *testing.T) emulator.Config {
	t.Helper()
	bin, err := exampleAuthorizer()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(nil)
	cfg.Functions[0] = emulator.Function{Name: "auth-fn", Kind: emulator.KindExecutable, Path: bin,
		Environment: map[string]string{"AUTHORIZER_TOKEN": goodToken}}
	return cfg
}

var loggedEvent = regexp.MustCompile(`event: (\{.*\})$`)

// TestExecutableAuthorizer runs the real aws-lambda-go example behind the emulator's own
// Runtime API, connects real MQTT clients through it, and checks that the event the function
// logged equals the one an in-process handler receives for the same device.
func TestExecutableAuthorizer(t *testing.T) {
	t.Parallel()
	emu := start(t, executableConfig(t))

	d := newDevice(t, emu, "sensor1")
	sub, err := d.connectV3(t)
	if err != nil {
		t.Fatalf("connect through the executable authorizer: %v\n%s", err, dumpLog(emu))
	}
	if tok := sub.Subscribe("devices/sensor1/cmd", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := sub.Publish("devices/sensor1/cmd", 1, false, "on"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-sub.received:
		if string(m.Payload()) != "on" {
			t.Fatalf("got %q", m.Payload())
		}
	case <-time.After(waitLong):
		t.Fatal("message not delivered")
	}
	bad := newDevice(t, emu, "sensor2")
	bad.username = username(t, "wrong-token")
	if _, err := bad.connectV3(t); err == nil {
		t.Fatal("a wrong token connected")
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=sensor2", "reason=NOT_AUTHENTICATED")

	var logged string
	for _, l := range emu.Logs().FunctionLines("") {
		if m := loggedEvent.FindStringSubmatch(l.Message); m != nil && strings.Contains(m[1], `"sensor1"`) {
			logged = m[1]
			break
		}
	}
	if logged == "" {
		t.Fatalf("the function logged no event:\n%s", dumpFunctionLog(emu))
	}

	// The same device against an in-process handler.
	got := make(chan []byte, 1)
	inproc := start(t, config(rawHandler(func(event []byte) []byte {
		got <- event
		return []byte(`{"isAuthenticated":false}`)
	})))
	d2 := newDevice(t, inproc, "sensor1")
	d2.connectV3(t)
	if a, b := normalizeEvent(t, []byte(logged), emu.Endpoint()), normalizeEvent(t, <-got, inproc.Endpoint()); a != b {
		t.Errorf("event logged by the executable:\n%s\nevent received in process:\n%s", a, b)
	}
	m, _ := emu.FunctionMetrics("auth-fn")
	if m.Invocations != 2 || m.ColdStarts != 1 {
		t.Errorf("metrics %+v; want 2 invocations, 1 cold start", m)
	}
}

// normalizeEvent blanks what differs between two connections (the connection ID).
func normalizeEvent(t *testing.T, raw []byte, endpoint string) string {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("event %s: %v", raw, err)
	}
	ev["connectionMetadata"] = map[string]any{"id": "ID"}
	b, _ := json.Marshal(ev)
	return string(b)
}

func dumpFunctionLog(emu *emulator.Emulator) string {
	var b strings.Builder
	for _, l := range emu.Logs().FunctionLines("") {
		b.WriteString("  " + l.Message + "\n")
	}
	return b.String()
}
