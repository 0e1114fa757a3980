package emulator_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// faultyAuthorizer builds testdata/faulty, an authorizer that misbehaves as its token says.
var faultyAuthorizer = sync.OnceValues(func() (string, error) {
	return buildFunction("faulty", "./testdata/faulty")
})

func faultyConfig(t *testing.T, env map[string]string) emulator.Config {
	t.Helper()
	bin, err := faultyAuthorizer()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(nil)
	cfg.Functions[0] = emulator.Function{Name: "auth-fn", Kind: emulator.KindExecutable, Path: bin, Environment: env, Concurrency: 2}
	return cfg
}

// TestExecutableFaults: each way a real function can misbehave fails only the connection that
// triggered it, with AWS's log reason and a trace naming the cause, and the next connection
// succeeds.
func TestExecutableFaults(t *testing.T) {
	t.Parallel()
	emu := start(t, faultyConfig(t, nil))
	cases := []struct {
		token string
		trace string // what the decision trace must say
	}{
		{"panic", "the authorizer panicked"},
		{"error", "the authorizer returned an error"},
		{"garbage", "not JSON"},
		{"huge", "ResponseSizeTooLarge"},
		{"sleep", "5s"},
		{"exit", "Runtime exited with error"},
	}
	for _, tc := range cases {
		d := newDevice(t, emu, "fault-"+tc.token)
		d.username = username(t, tc.token)
		if _, err := d.connectV3(t); err == nil {
			t.Fatalf("%s: connected", tc.token)
		}
		waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=fault-"+tc.token, "reason=CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR")
		traceMentions(t, emu, tc.trace)

		ok := newDevice(t, emu, "after-"+tc.token)
		ok.username = username(t, "allow")
		if _, err := ok.connectV3(t); err != nil {
			t.Fatalf("after %s, a good connection failed: %v\n%s", tc.token, err, dumpLog(emu))
		}
	}

	// A function that writes megabytes still answers, and its lines reach the function log.
	flood := newDevice(t, emu, "flood")
	flood.username = username(t, "flood")
	if _, err := flood.connectV3(t); err != nil {
		t.Fatalf("flood: %v", err)
	}
	// The answer waits only a bounded time for the output written before it, so the test waits
	// for the lines rather than expecting them all by the time the client connects. The flood
	// (about 4 MB with its records' overhead) fits the in-memory log's share for function lines
	// (an eighth of DefaultMemoryBytes), which keeps every line a function writes.
	if n, report := waitFloodLines(emu, 4000); n != 4000 || !report {
		t.Errorf("function log holds %d of a 4,000-line flood's lines (its REPORT line: %v)", n, report)
	}
	if b, limit := emu.Logs().Bytes(), emu.Logs().LimitBytes(); b > limit {
		t.Errorf("the in-memory log holds %d bytes, over its %d", b, limit)
	}
	// Lambda counts as errors what failed in the function (panic, error, size, timeout, exit),
	// not an answer the caller finds invalid (garbage).
	m, _ := emu.FunctionMetrics("auth-fn")
	if m.Errors != 5 || m.Timeouts != 1 {
		t.Errorf("metrics %+v; want 5 errors, 1 timeout", m)
	}

	bin, _ := faultyAuthorizer()
	emu.Close()
	if pids := processesRunning(bin); len(pids) > 0 {
		t.Errorf("instances still running after Close: %v", pids)
	}
}

// TestExecutableThatExitsBeforePolling: an init failure fails the connection with the tail of
// the function's output in the trace.
func TestExecutableThatExitsBeforePolling(t *testing.T) {
	t.Parallel()
	emu := start(t, faultyConfig(t, map[string]string{"FAULTY_INIT": "exit"}))
	d := newDevice(t, emu, "init")
	d.username = username(t, "allow")
	if _, err := d.connectV3(t); err == nil {
		t.Fatal("connected through a function that cannot start")
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=init", "reason=CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR")
	traceMentions(t, emu, "cannot start: FAULTY_INIT=exit")
}

// waitFloodLines waits until the function log holds want lines of the "flood" token's output
// and the REPORT line of their invocation, or for a long time, and returns how many it holds and
// whether the REPORT line is there.
func waitFloodLines(emu *emulator.Emulator, want int) (int, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, id := 0, ""
		for _, l := range emu.Logs().FunctionLines("") {
			if strings.HasPrefix(l.Message, "flood log line ") {
				n, id = n+1, l.RequestID
			}
		}
		report := false
		for _, l := range emu.Logs().FunctionLines(id) {
			report = report || id != "" && strings.HasPrefix(l.Message, "REPORT")
		}
		if n >= want && report || time.Now().After(deadline) {
			return n, report
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processesRunning returns the PIDs of live processes running the executable at path.
func processesRunning(path string) []string {
	var pids []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids = pids[:0]
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, path) {
				pids = append(pids, e.Name())
			}
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}
