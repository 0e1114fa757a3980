package lambdarunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/internal/testtool"
)

// The probe function (testdata/functions/probe) is built once per test binary.
var (
	probeOnce sync.Once
	probeDir  string
	probePath string
	probeErr  error
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelperEmulator())
	}
	code := m.Run()
	if probeDir != "" {
		_ = os.RemoveAll(probeDir)
	}
	testtool.Report()
	os.Exit(code)
}

// probeBinary returns the path of the built probe function.
func probeBinary(tb testing.TB) string {
	tb.Helper()
	probeOnce.Do(func() {
		probeDir, probeErr = os.MkdirTemp("", "lambdarunner-probe-")
		if probeErr != nil {
			return
		}
		path := filepath.Join(probeDir, "bootstrap")
		cmd := exec.Command("go", "build", "-o", path, "./testdata/functions/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = fmt.Errorf("building the probe function: %v\n%s", err, out)
			return
		}
		probePath = path
	})
	if probeErr != nil {
		tb.Fatal(probeErr)
	}
	return probePath
}

// copyProbe copies the probe function to path, through a rename so that the file is replaced,
// not rewritten (a running executable cannot be written to).
func copyProbe(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(probeBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// newTestExecutable returns an Executable running the probe (unless cfg says otherwise) that the
// test's cleanup closes, checking that no goroutine and no process is left behind.
func newTestExecutable(t *testing.T, cfg ExecutableConfig) *Executable {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = probeBinary(t)
	}
	if cfg.Name == "" {
		cfg.Name = "probe"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	goroutines := runtime.NumGoroutine()
	e, err := NewExecutable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pids := instancePIDs(e)
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		e.mu.Lock()
		left := len(e.instances)
		e.mu.Unlock()
		if left != 0 {
			t.Errorf("%d instances left after Close", left)
		}
		for _, pid := range pids {
			if !processGone(pid) {
				t.Errorf("process %d still runs after Close", pid)
			}
		}
		waitFor(t, "goroutines to end after Close", func() bool { return runtime.NumGoroutine() <= goroutines })
	})
	return e
}

func instancePIDs(e *Executable) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var pids []int
	for _, in := range e.instances {
		if in.pid > 0 {
			pids = append(pids, in.pid)
		}
	}
	return pids
}

// processGone reports whether pid no longer runs (a zombie left to a non-reaping init counts as
// gone).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) state ...: comm may hold spaces, the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("timed out waiting for %s; goroutines:\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testLog collects an invocation's log lines.
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *testLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.lines, s)
}

type result struct {
	out []byte
	err error
	inv *Invocation
	log *testLog
}

// run invokes e with event and a 5 s deadline.
func run(e *Executable, event string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return runCtx(ctx, e, event, nil)
}

// runCtx invokes e with event; onLine, when set, receives the log lines instead of the result.
func runCtx(ctx context.Context, e *Executable, event string, onLine func(string)) result {
	l := &testLog{}
	deadline, _ := ctx.Deadline()
	inv := &Invocation{RequestID: uuid.NewString(), Event: []byte(event), Deadline: deadline, Log: l.add}
	if onLine != nil {
		inv.Log = onLine
	}
	out, err := e.Run(ctx, inv)
	return result{out: out, err: err, inv: inv, log: l}
}

// answerPID runs the echo action and returns the PID of the instance that answered.
func answerPID(t *testing.T, e *Executable, wantCold bool) int {
	t.Helper()
	r := run(e, `{"do":"echo"}`)
	if r.err != nil {
		t.Fatalf("echo: %v", r.err)
	}
	if r.inv.ColdStart != wantCold {
		t.Errorf("echo: ColdStart %v; want %v", r.inv.ColdStart, wantCold)
	}
	var a struct {
		PID int    `json:"pid"`
		Do  string `json:"do"`
	}
	if err := json.Unmarshal(r.out, &a); err != nil || a.PID == 0 || a.Do != "echo" {
		t.Fatalf("echo answered %q (%v)", r.out, err)
	}
	return a.PID
}

func wantFunctionError(t *testing.T, err error, wantType string) *FunctionError {
	t.Helper()
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v; want a *FunctionError of type %s", err, wantType)
	}
	if fe.Type != wantType {
		t.Fatalf("got error type %q (%s); want %q", fe.Type, fe.Message, wantType)
	}
	return fe
}

func TestExecutableAnswersAndReusesWarmInstances(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	first := run(e, `{"do":"echo"}`)
	if first.err != nil {
		t.Fatal(first.err)
	}
	if !first.inv.ColdStart {
		t.Error("first invocation is not a cold start")
	}
	if !first.log.has("probe: init") || !first.log.has("probe: answering echo") {
		t.Errorf("first invocation's log %q lacks the init and handler lines", first.log.lines)
	}
	if runtime.GOOS == "linux" && first.inv.MaxMemoryUsedMB <= 0 {
		t.Errorf("MaxMemoryUsedMB = %d", first.inv.MaxMemoryUsedMB)
	}
	var a struct{ PID int }
	if err := json.Unmarshal(first.out, &a); err != nil {
		t.Fatalf("answer %q: %v", first.out, err)
	}
	second := run(e, `{"do":"echo"}`)
	if second.err != nil {
		t.Fatal(second.err)
	}
	if second.inv.ColdStart {
		t.Error("second invocation is a cold start")
	}
	var b struct{ PID int }
	if err := json.Unmarshal(second.out, &b); err != nil || b.PID != a.PID {
		t.Errorf("second answer %q: want the warm instance %d", second.out, a.PID)
	}
	if second.log.has("probe: init") || !second.log.has("probe: answering echo") {
		t.Errorf("second invocation's log: %q", second.log.lines)
	}
}

func TestExecutableFunctionReturnsAnError(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	r := run(e, `{"do":"error","msg":"token expired"}`)
	fe := wantFunctionError(t, r.err, "DeniedError") // aws-lambda-go: the error's Go type name
	if fe.Message != "token expired" {
		t.Errorf("message %q", fe.Message)
	}
	pid := instancePIDs(e)[0]
	if got := answerPID(t, e, false); got != pid {
		t.Errorf("after a returned error the instance changed: %d, then %d", pid, got)
	}
}

func TestExecutableFunctionPanics(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	r := run(e, `{"do":"panic","msg":"kaput"}`)
	// aws-lambda-go reports a panic as an error typed after the panic value, then exits.
	fe := wantFunctionError(t, r.err, "string")
	if fe.Message != "kaput" {
		t.Errorf("message %q", fe.Message)
	}
	answerPID(t, e, true) // the instance exited: the next invocation starts another
}

func TestExecutableAnswerThatIsNotJSON(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	r := run(e, `{"do":"raw"}`)
	if r.err != nil || string(r.out) != "this is not JSON{" {
		t.Fatalf("got %q, %v; want the bytes as the function wrote them", r.out, r.err)
	}
	answerPID(t, e, false)
}

func TestExecutableResponseSizeLimit(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	r := run(e, fmt.Sprintf(`{"do":"big","bytes":%d}`, MaxResponseBytes-2)) // 6 MB with the quotes
	if r.err != nil || len(r.out) != MaxResponseBytes {
		t.Fatalf("an answer of exactly %d bytes: got %d bytes, %v", MaxResponseBytes, len(r.out), r.err)
	}
	r = run(e, fmt.Sprintf(`{"do":"big","bytes":%d}`, 7<<20))
	fe := wantFunctionError(t, r.err, "Function.ResponseSizeTooLarge")
	if !strings.Contains(fe.Message, "exceeded maximum allowed payload size") {
		t.Errorf("message %q", fe.Message)
	}
	answerPID(t, e, true) // aws-lambda-go exits when the Runtime API refuses its answer
}

// TestExecutableKillsAnInstancePastTheDeadline: an instance still running at the deadline is
// killed at once, its output so far in the invocation's log. On a busy machine the deadline may
// pass before the probe even takes the invocation (it is then withdrawn, and the instance lives
// on); the probe tells when it wrote its line (a file), and until it did in time, the test runs
// again with twice the deadline.
func TestExecutableKillsAnInstancePastTheDeadline(t *testing.T) {
	for deadline := 500 * time.Millisecond; ; deadline *= 2 {
		e := newTestExecutable(t, ExecutableConfig{})
		pid := answerPID(t, e, true)
		sleeping := filepath.Join(t.TempDir(), "sleeping")
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		r := runCtx(ctx, e, fmt.Sprintf(`{"do":"sleep","ms":60000,"path":%q}`, sleeping), nil)
		took := time.Since(start)
		cancel()
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("got %v; want context.DeadlineExceeded", r.err)
		}
		if _, err := os.Stat(sleeping); err != nil && deadline < 5*time.Second {
			t.Logf("the probe did not write its line within %s; again with more time", deadline)
			continue
		}
		// The function sleeps a minute: returning well before proves Run did not wait for it.
		if took > deadline+20*time.Second {
			t.Errorf("Run returned after %v", took)
		}
		if !r.log.has("probe: sleeping") {
			t.Errorf("log %q", r.log.lines)
		}
		if !processGone(pid) {
			t.Errorf("instance %d still runs after its deadline", pid)
		}
		if got := answerPID(t, e, true); got == pid {
			t.Error("the killed instance answered")
		}
		return
	}
}

func TestExecutableInstanceExitsDuringAnInvocation(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	answerPID(t, e, true)
	r := run(e, `{"do":"exit","code":2}`)
	fe := wantFunctionError(t, r.err, "Runtime.ExitError")
	if want := "RequestId: " + r.inv.RequestID + " Error: Runtime exited with error: exit status 2"; fe.Message != want {
		t.Errorf("message %q; want %q", fe.Message, want)
	}
	if !r.log.has("probe: exiting") {
		t.Errorf("log %q lacks the function's last line", r.log.lines)
	}
	answerPID(t, e, true)
}

// initFailure runs a probe whose init fails while the file named by envKey exists, and checks
// that the invocation fails with wantType and a message containing wantText, and that the next
// one, once the file is gone, succeeds.
func initFailure(t *testing.T, envKey string, initTimeout time.Duration, wantType string, wantText ...string) {
	trigger := filepath.Join(t.TempDir(), "trigger")
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestExecutable(t, ExecutableConfig{Env: map[string]string{envKey: trigger}, InitTimeout: initTimeout})
	r := run(e, `{"do":"echo"}`)
	recoverFromInitFailure(t, e, trigger, r, wantType, wantText...)
}

// recoverFromInitFailure checks that r failed the cold start with an error of wantType whose
// message holds wantText, then removes trigger and checks that a new instance answers.
func recoverFromInitFailure(t *testing.T, e *Executable, trigger string, r result, wantType string, wantText ...string) {
	t.Helper()
	fe := wantFunctionError(t, r.err, wantType)
	for _, s := range wantText {
		if !strings.Contains(fe.Message, s) {
			t.Errorf("message %q lacks %q", fe.Message, s)
		}
	}
	if !r.inv.ColdStart {
		t.Error("not a cold start")
	}
	if err := os.Remove(trigger); err != nil {
		t.Fatal(err)
	}
	answerPID(t, e, true)
}

func TestExecutableInstanceExitsBeforePolling(t *testing.T) {
	initFailure(t, "PROBE_CRASH_IF_EXISTS", 0, "Runtime.ExitError",
		"Error: Runtime exited with error: exit status 3", "probe: cannot load configuration")
}

func TestExecutableInitErrorCall(t *testing.T) {
	initFailure(t, "PROBE_INIT_ERROR_IF_EXISTS", 0, "Runtime.ConfigError", "bad configuration")
}

// TestExecutableInitTimeout: an instance that never polls is killed at the init timeout, and the
// error quotes its output. The timeout counts from the process's start, so on a busy machine it
// may pass before the probe even writes its line; the probe tells when it did (a file), and until
// it did in time, the test runs again with twice the timeout.
func TestExecutableInitTimeout(t *testing.T) {
	trigger := filepath.Join(t.TempDir(), "trigger")
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for timeout := 300 * time.Millisecond; ; timeout *= 2 {
		hanging := filepath.Join(t.TempDir(), "hanging")
		e := newTestExecutable(t, ExecutableConfig{
			Env:         map[string]string{"PROBE_HANG_IF_EXISTS": trigger, "PROBE_HANGING_FILE": hanging},
			InitTimeout: timeout,
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r := runCtx(ctx, e, `{"do":"echo"}`, nil)
		cancel()
		if _, err := os.Stat(hanging); err != nil && timeout < 5*time.Second {
			// Killed before it reached the hang: its line cannot be in the message.
			wantFunctionError(t, r.err, "Runtime.InitError")
			t.Logf("the probe did not reach its hang within %s; again with more time", timeout)
			continue
		}
		recoverFromInitFailure(t, e, trigger, r, "Runtime.InitError",
			"within the "+timeout.String()+" init timeout", "probe: hanging in init")
		return
	}
}

func TestExecutableDeadlineDuringInitLeavesTheInstanceStarting(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := runCtx(ctx, e, `{"do":"echo"}`, nil); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", r.err)
	}
	// The instance started for it goes on and serves the next invocation, cold or warm
	// depending on whether its init is over.
	r := run(e, `{"do":"echo"}`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n := len(instancePIDs(e)); n != 1 {
		t.Errorf("%d instances; want 1", n)
	}
}

func TestExecutableOutputFlood(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	answerPID(t, e, true)
	const total = 8 << 20
	var (
		mu              sync.Mutex
		xLines, longest int
		yPieces         []int
		last            string
	)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := runCtx(context.Background(), e, fmt.Sprintf(`{"do":"spew","bytes":%d}`, total), func(s string) {
		mu.Lock()
		defer mu.Unlock()
		longest = max(longest, len(s))
		switch {
		case strings.HasPrefix(s, "x"):
			xLines++
		case strings.HasPrefix(s, "y"):
			yPieces = append(yPieces, len(s))
		default:
			last = s
		}
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if xLines != total/1024 {
		t.Errorf("%d lines of 1 KiB; want %d", xLines, total/1024)
	}
	if want := []int{maxLogLine, maxLogLine, 600<<10 - 2*maxLogLine}; !slices.Equal(yPieces, want) {
		t.Errorf("a 600 KiB line came as pieces %v; want %v", yPieces, want)
	}
	if longest > maxLogLine {
		t.Errorf("a line of %d bytes", longest)
	}
	if last != "probe: done" {
		t.Errorf("last line %q; want the unterminated last line", last)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 4<<20 {
		t.Errorf("heap grew by %d bytes after %d bytes of output", grown, total)
	}
}

// hold starts an invocation that holds its instance until release is called, and returns once
// the function runs.
func hold(t *testing.T, e *Executable) (release func() result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	holding := make(chan struct{})
	var once sync.Once
	done := make(chan result, 1)
	go func() {
		done <- runCtx(context.Background(), e, fmt.Sprintf(`{"do":"hold","path":%q}`, path), func(s string) {
			if s == "probe: holding" {
				once.Do(func() { close(holding) })
			}
		})
	}()
	select {
	case <-holding:
	case r := <-done:
		t.Fatalf("the holding invocation ended: %q, %v", r.out, r.err)
	}
	return func() result {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		return <-done
	}
}

func TestExecutableThrottlesAtItsConcurrency(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{Concurrency: 1})
	pid := answerPID(t, e, true)
	release := hold(t, e)
	if r := run(e, `{"do":"echo"}`); !errors.Is(r.err, ErrThrottled) {
		t.Errorf("got %v; want ErrThrottled", r.err)
	}
	if r := release(); r.err != nil {
		t.Fatalf("the holding invocation: %v", r.err)
	}
	if got := answerPID(t, e, false); got != pid {
		t.Errorf("instance %d answered; want %d", got, pid)
	}
}

func TestExecutableRestartsWhenTheFileChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstrap")
	copyProbe(t, path)
	e := newTestExecutable(t, ExecutableConfig{Path: path})
	release := hold(t, e) // an old instance busy while the file changes
	busy := instancePIDs(e)
	idle := answerPID(t, e, true) // an old instance idle when it changes

	copyProbe(t, path)
	fresh := answerPID(t, e, true)
	if fresh == idle || slices.Contains(busy, fresh) {
		t.Errorf("an old instance answered after the file changed")
	}
	waitFor(t, "the idle old instance to be killed", func() bool { return processGone(idle) })
	if r := release(); r.err != nil {
		t.Fatalf("the busy old instance's invocation: %v", r.err)
	}
	waitFor(t, "the busy old instance to be killed once done", func() bool {
		return len(busy) == 1 && processGone(busy[0])
	})
	if got := answerPID(t, e, false); got != fresh {
		t.Errorf("instance %d answered; want %d", got, fresh)
	}
}

func TestExecutableEnvironment(t *testing.T) {
	t.Setenv("_LAMBDA_SERVER_PORT", "9001") // would switch aws-lambda-go to its RPC mode
	t.Setenv("IOTEMU_PARENT_ONLY", "1")
	e := newTestExecutable(t, ExecutableConfig{
		Name: "auth", Region: "eu-west-1", MemoryMB: 256,
		Env: map[string]string{"MY_SETTING": "x=y", "LANG": "C.UTF-8"},
	})
	r := run(e, `{"do":"env"}`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	var a struct {
		Env []string
		Cwd string
	}
	if err := json.Unmarshal(r.out, &a); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range a.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	dir := filepath.Dir(probeBinary(t))
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "auth",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/auth",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                dir,
		"TZ":                              ":UTC",
		"LANG":                            "C.UTF-8",
		"PATH":                            os.Getenv("PATH"),
		"MY_SETTING":                      "x=y",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q; want %q", k, env[k], v)
		}
	}
	for k, re := range map[string]string{
		"AWS_LAMBDA_RUNTIME_API":     `^127\.0\.0\.1:\d+$`,
		"AWS_LAMBDA_LOG_STREAM_NAME": `^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`,
	} {
		if !regexp.MustCompile(re).MatchString(env[k]) {
			t.Errorf("%s=%q; want %s", k, env[k], re)
		}
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "IOTEMU_PARENT_ONLY"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s=%q passed on from the parent", k, v)
		}
	}
	if a.Cwd != dir {
		t.Errorf("working directory %q; want %q", a.Cwd, dir)
	}
}

func TestExecutableKillsWhatTheFunctionForks(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	r := run(e, `{"do":"fork"}`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	var a struct{ PID, Child int }
	if err := json.Unmarshal(r.out, &a); err != nil || a.Child == 0 {
		t.Fatalf("answer %q: %v", r.out, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(a.PID) {
		t.Errorf("instance %d runs after Close", a.PID)
	}
	waitFor(t, "the forked process to die", func() bool { return processGone(a.Child) })
	if r := run(e, `{"do":"echo"}`); !errors.Is(r.err, errExecutableClosed) {
		t.Errorf("Run after Close: %v", r.err)
	}
}

func TestExecutableRunsWithFunction(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{})
	var mu sync.Mutex
	var lines []string
	f, err := NewFunction(FunctionConfig{Name: "probe", Runtime: e, Log: func(l LogLine) {
		mu.Lock()
		lines = append(lines, l.Text)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Invoke(context.Background(), []byte(`{"do":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The function's own lines come between START and END.
	i := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "START ") })
	j := slices.Index(lines, "probe: answering echo")
	k := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "END ") })
	if i < 0 || j < i || k < j {
		t.Errorf("log lines %q", lines)
	}
	if m := f.Metrics(); m.ColdStarts != 1 {
		t.Errorf("metrics %+v", m)
	}
}

func TestNewExecutableRefusesBadConfigs(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]ExecutableConfig{
		"no name":         {Path: plain},
		"no path":         {Name: "f"},
		"missing file":    {Name: "f", Path: filepath.Join(dir, "missing")},
		"a directory":     {Name: "f", Path: dir},
		"not executable":  {Name: "f", Path: plain},
		"reserved key":    {Name: "f", Path: probeBinary(t), Env: map[string]string{"AWS_REGION": "x"}},
		"legacy RPC mode": {Name: "f", Path: probeBinary(t), Env: map[string]string{"_LAMBDA_SERVER_PORT": "1"}},
	} {
		if _, err := NewExecutable(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The probe is a real runtime client; this one is a bare script, to show that any program that
// speaks the Runtime API runs. It serves one invocation, then idles a moment without polling and
// exits: the invocation that was meanwhile given to it goes to a new instance.
func TestExecutableRunsAnyRuntimeClient(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	script := filepath.Join(t.TempDir(), "bootstrap")
	body := `#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
id=$(` + curl + ` -sS -D - -o /dev/null "$api/next" | tr -d '\r' | sed -n 's/^Lambda-Runtime-Aws-Request-Id: //ip')
echo "shell: got $id"
` + curl + ` -sS -o /dev/null -d '{"from":"shell"}' "$api/$id/response"
sleep 0.2
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newTestExecutable(t, ExecutableConfig{Path: script})
	r := run(e, `{}`)
	if r.err != nil || string(r.out) != `{"from":"shell"}` {
		t.Fatalf("got %q, %v", r.out, r.err)
	}
	if !r.log.has("shell: got " + r.inv.RequestID) {
		t.Errorf("log %q", r.log.lines)
	}
	r = run(e, `{}`)
	if r.err != nil || string(r.out) != `{"from":"shell"}` || !r.inv.ColdStart {
		t.Fatalf("second invocation: %q, %v, cold start %v", r.out, r.err, r.inv.ColdStart)
	}
}

func TestExecutableConcurrentInvocations(t *testing.T) {
	e := newTestExecutable(t, ExecutableConfig{Concurrency: 3})
	var (
		mu        sync.Mutex
		pids      = map[int]bool{}
		ok, thr   int
		wg        sync.WaitGroup
		unexpects []error
	)
	for range 8 {
		wg.Go(func() {
			for i := range 20 {
				if i%5 == 4 { // the instance reports the panic and exits between invocations
					r := run(e, `{"do":"panic","msg":"p"}`)
					var fe *FunctionError
					if !errors.Is(r.err, ErrThrottled) && (!errors.As(r.err, &fe) || fe.Type != "string") {
						mu.Lock()
						unexpects = append(unexpects, r.err)
						mu.Unlock()
					}
					continue
				}
				r := run(e, `{"do":"echo"}`)
				var a struct{ PID int }
				mu.Lock()
				switch {
				case errors.Is(r.err, ErrThrottled):
					thr++
				case r.err == nil && json.Unmarshal(r.out, &a) == nil:
					ok++
					pids[a.PID] = true
				default:
					unexpects = append(unexpects, r.err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(unexpects) > 0 || ok == 0 {
		t.Errorf("%d answers from %d instances, %d throttled, unexpected: %v", ok, len(pids), thr, unexpects)
	}
}
