package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// brokenAuthorizers are copies of examples/authorizer, each broken in one way: an anchor
// text of main.go and what replaces it.
var brokenAuthorizers = map[string][][2]string{
	"good":       nil,
	"http-panic": {{"\tif req.Token != a.token {", "\tif req.ProtocolData != nil && req.ProtocolData.HTTP != nil {\n\t\tpanic(\"HTTP is not supported\")\n\t}\n\tif req.Token != a.token {"}},
	// The TestInvokeAuthorizer event has no protocolData: a nil pointer dereference.
	"test-invoke-crash": {{"\tclientID := \"\"", "\tlog.Printf(\"SNI %s\", req.ProtocolData.TLS.ServerName)\n\tclientID := \"\""}},
	"principal-dash":    {{"PrincipalID:              principalID(clientID),", "PrincipalID: \"device-\" + principalID(clientID),"}},
	"subscribe-topic":   {{`"topicfilter/devices/"+id+"/*", "topicfilter/broadcast/*"`, `"topic/devices/"+id+"/*", "topic/broadcast/*"`}},
	"no-receive":        {{`allow([]string{"iot:Publish", "iot:Receive"}`, `allow([]string{"iot:Publish"}`}},
	"eleven-documents":  {{"[]*events.IAMPolicyDocument{a.policy(clientID)}", "[]*events.IAMPolicyDocument{" + strings.Repeat("a.policy(clientID), ", 11) + "}"}},
	"cold-start-6s":     {{"\tlambda.Start(a.handle)", "\ttime.Sleep(6 * time.Second)\n\tlambda.Start(a.handle)"}, {"\t\"strings\"\n", "\t\"strings\"\n\t\"time\"\n"}},
	"publsh":            {{`allow([]string{"iot:Publish", "iot:Receive"}`, `allow([]string{"iot:Publsh", "iot:Receive"}`}},
	// Never answers, and says which process it is, so the test can see that it is gone.
	"never-answers": {{"\ta, err := fromEnv()", "\t_ = os.WriteFile(os.Getenv(\"PID_FILE\"), []byte(strconv.Itoa(os.Getpid())), 0o644)\n\ta, err := fromEnv()"},
		{"\tlog.Printf(\"event: %s\", raw)", "\tselect {}"}},
}

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

// buildAuthorizers builds every copy of examples/authorizer once, in parallel, with go build
// -overlay (main.go replaced), and returns the directory of the binaries.
func buildAuthorizers(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds copies of examples/authorizer")
	}
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "iotemu-check-")
		if buildErr != nil {
			return
		}
		mainGo, _ := filepath.Abs("../../examples/authorizer/main.go")
		src, err := os.ReadFile(mainGo)
		if err != nil {
			buildErr = err
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for name, patches := range brokenAuthorizers {
			text := string(src)
			for _, p := range patches {
				if !strings.Contains(text, p[0]) {
					buildErr = errors.New(name + ": anchor not found in examples/authorizer/main.go: " + p[0])
					return
				}
				text = strings.Replace(text, p[0], p[1], 1)
			}
			wg.Go(func() {
				err := buildVariant(mainGo, text, filepath.Join(builtDir, name))
				mu.Lock()
				defer mu.Unlock()
				buildErr = errors.Join(buildErr, err)
			})
		}
		wg.Wait()
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtDir
}

func buildVariant(mainGo, text, out string) error {
	patched, overlay := out+".go", out+".overlay.json"
	o, _ := json.Marshal(map[string]any{"Replace": map[string]string{mainGo: patched}})
	if err := errors.Join(os.WriteFile(patched, []byte(text), 0o644), os.WriteFile(overlay, o, 0o644)); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-overlay", overlay, "-o", out, "../../examples/authorizer")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return errors.New(filepath.Base(out) + ": " + err.Error() + "\n" + string(b))
	}
	return nil
}

// checkReport is the JSON report, as much as the tests read.
type checkReport struct {
	Findings []struct {
		Severity, Code, Check string
		Details               []string
	}
	Checks []struct {
		Name, Group, Skipped string
		Passed               bool
	}
}

// runCheck runs iotemu check with -json and returns the report and the command's error.
func runCheck(t *testing.T, args ...string) (checkReport, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := check(context.Background(), append([]string{"-json", "-n", "5"}, args...), &out, &errOut)
	var r checkReport
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("report: %v (error %v)\n%s\n%s", jerr, err, out.String(), errOut.String())
	}
	return r, err
}

// TestCheckBrokenAuthorizers: each broken copy of the example gets exactly its finding, and
// the check fails (exit status 1).
func TestCheckBrokenAuthorizers(t *testing.T) {
	t.Parallel()
	dir := buildAuthorizers(t)
	cases := map[string]struct{ code, check string }{
		"http-panic":        {"function-error", "event https-headers, event https-query, event wss, event wss-query"},
		"test-invoke-crash": {"function-error", "event test-invoke-authorizer"},
		"principal-dash":    {"invalid-answer principalId", ""},
		"subscribe-topic":   {"subscribe-on-topic", "policy lint"},
		"no-receive":        {"subscribe-without-receive", "policy lint"},
		"eleven-documents":  {"invalid-answer policyDocuments", ""},
		"cold-start-6s":     {"cold-start", "timing cold start"},
		"publsh":            {"unknown-action", "policy lint"},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := runCheck(t, "-token", "allow", "-client-id", "dev1", filepath.Join(dir, name))
			if !errors.Is(err, errCheckFailed) {
				t.Errorf("error %v, want %v", err, errCheckFailed)
			}
			if len(r.Findings) != 1 || r.Findings[0].Code != want.code || want.check != "" && r.Findings[0].Check != want.check {
				t.Errorf("findings %+v, want exactly one %q from %q", r.Findings, want.code, want.check)
			}
		})
	}
}

// TestCheckExample: examples/authorizer passes with the credentials its README documents;
// the report is short, the JUnit file has every check and no failure, and the library's
// device-side cases ran, the function-side ones not.
func TestCheckExample(t *testing.T) {
	t.Parallel()
	dir := buildAuthorizers(t)
	junit := filepath.Join(t.TempDir(), "check.xml")
	args := []string{"-token", "allow", "-client-id", "dev1", "-allow-publish", "broadcast/hello", "-allow-subscribe", "devices/dev1/#",
		"-allow-receive", "devices/dev1/commands", "-deny-publish", "devices/dev2/commands", "-deny-subscribe", "#", "-junit", junit, filepath.Join(dir, "good")}
	var out, errOut bytes.Buffer
	if err := check(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	if n := strings.Count(text, "\n"); n >= 40 || !strings.Contains(text, "PASS: 0 would fail on AWS, 0 would deny a device, 0 warnings") {
		t.Errorf("report of %d lines:\n%s", n, text)
	}
	if !strings.Contains(errOut.String(), "check: cold start") {
		t.Errorf("no progress on stderr: %q", errOut.String())
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	data, err := os.ReadFile(junit)
	if err != nil || xml.Unmarshal(data, &suites) != nil || suites.Failures != 0 || suites.Tests < 40 {
		t.Fatalf("JUnit: %v %+v", err, suites)
	}
	var library []string
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			if s.Name == "iotemu check library" {
				library = append(library, c.Name)
			}
		}
	}
	joined := strings.Join(library, " ")
	if !strings.Contains(joined, "library no-sni/fixed") || !strings.Contains(joined, "library signature-wrong-key/broken") || strings.Contains(joined, "function-throws") || strings.Contains(joined, "receive-missing") {
		t.Errorf("library cases run: %v", library)
	}

	// A device the policy does not cover: a real client is refused, with the decision trace.
	r, err := runCheck(t, "-token", "allow", "-client-id", "dev1", "-allow-publish", "devices/dev2/x", filepath.Join(dir, "good"))
	if !errors.Is(err, errCheckFailed) || len(r.Findings) != 2 || r.Findings[0].Check != "library https-host-not-endpoint/fixed" || r.Findings[1].Check != "topics publish devices/dev2/x" ||
		!strings.Contains(strings.Join(r.Findings[1].Details, "\n"), "trace publish: denied: no statement allows iot:Publish") {
		t.Errorf("denied topic: %v %+v", err, r.Findings)
	}
}

// TestCheckBadInput: a missing binary, a file that is not executable and a check file with a
// typo are refused with a clear error; a function that never answers is reported, and no
// process of it is left.
func TestCheckBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	err := check(ctx, []string{"-token", "allow", filepath.Join(dir, "bootstrap")}, &out, &errOut)
	if err == nil || errors.Is(err, errCheckFailed) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing binary: %v", err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = check(ctx, []string{"-token", "allow", plain}, &out, &errOut)
	if err == nil || errors.Is(err, errCheckFailed) || !strings.Contains(err.Error(), "executable") {
		t.Errorf("file that is not executable: %v", err)
	}
	file := filepath.Join(dir, "check.yaml")
	if err := os.WriteFile(file, []byte("function: {path: ./bootstrap}\ndevice:\n  tokn: allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = check(ctx, []string{"-f", file}, &out, &errOut)
	if err == nil || !strings.HasPrefix(err.Error(), file+`:3:3: unknown key "tokn"`) {
		t.Errorf("typo in the check file: %v", err)
	}

	built := buildAuthorizers(t)
	pidFile := filepath.Join(dir, "pid")
	r, err := runCheck(t, "-token", "allow", "-env", "PID_FILE="+pidFile, filepath.Join(built, "never-answers"))
	if !errors.Is(err, errCheckFailed) || len(r.Findings) != 1 || r.Findings[0].Code != "no-answer" {
		t.Errorf("never answers: %v %+v", err, r.Findings)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(data))
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d of the function: kill -0 says %v, want it gone", pid, err)
	}
}

// TestMain removes the binaries buildAuthorizers built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}
