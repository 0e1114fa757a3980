package lambdarunner

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ExecutableConfig describes an Executable.
type ExecutableConfig struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME, log group /aws/lambda/NAME).
	Name string
	// ARN is the function ARN, sent to the runtime as Lambda-Runtime-Invoked-Function-Arn.
	ARN string
	// Region is AWS_REGION and AWS_DEFAULT_REGION (default us-east-1).
	Region string
	// Path is the executable: an aws-lambda-go bootstrap binary, or any program that speaks the
	// Lambda Runtime API.
	Path string
	// Args are its command-line arguments.
	Args []string
	// Env is the function's environment, added to the one Lambda gives. Lambda's reserved keys
	// (AWS_REGION, AWS_LAMBDA_*, _HANDLER, ...) are refused.
	Env map[string]string
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128).
	MemoryMB int
	// Concurrency is how many instances may run at once (default 10). When all are busy an
	// invocation fails at once with ErrThrottled.
	Concurrency int
	// InitTimeout is how long a new instance may take to ask for its first invocation (default
	// 10 s); a slower one is killed and the invocation waiting for it fails.
	InitTimeout time.Duration
	// Logger receives diagnostics and what instances write outside any invocation; nil
	// discards them.
	Logger *slog.Logger
}

// Default limits of an Executable.
const (
	DefaultConcurrency = 10
	DefaultInitTimeout = 10 * time.Second // AWS: Lambda's limit on the init phase
)

// Output handling.
const (
	maxLogLine   = 256 << 10       // AWS: a CloudWatch Logs event is at most 256 KB; a longer line is split
	tailLines    = 20              // lines of output kept for an init error's message
	tailBytes    = 4 << 10         // ... and at most this many bytes of them
	flushTimeout = time.Second     // how long an answer waits for the output written before it
	drainTimeout = 2 * time.Second // after an instance exits, how long a forked process may hold its output open
)

// lambdaReservedEnv are the keys Lambda sets itself and refuses in a function's configuration,
// plus _LAMBDA_SERVER_PORT, which would switch aws-lambda-go to its legacy RPC mode.
var lambdaReservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
	"_LAMBDA_SERVER_PORT",
}

// errExecutableClosed is returned by Run after Close.
var errExecutableClosed = errors.New("lambdarunner: executable closed")

// Executable is a Runtime that runs a compiled function as Lambda's provided.al2023 runtime
// does: each instance is a process of the executable, given Lambda's environment, that polls a
// Runtime API server of its own for invocations. Warm instances are reused, one invocation at a
// time each; new ones are started on demand up to Concurrency. An instance that crashes is
// replaced, one still running when an invocation's deadline passes is killed, and when the file
// changes on disk (a rebuild) the next invocation starts fresh instances.
//
// Everything an instance writes to stdout or stderr goes, line by line, to the Log of the
// invocation it is serving; output outside any invocation goes to the Logger. Output written
// while a new instance initialises belongs to the invocation that waits for it.
type Executable struct {
	cfg     ExecutableConfig
	path    string // absolute
	log     *slog.Logger
	httpLog *slog.Logger

	mu        sync.Mutex
	instances []*execInstance // not yet reaped
	stamp     os.FileInfo     // the file as the current instances were started from
	closed    bool
	wg        sync.WaitGroup // one per instance, until it is reaped and torn down
}

// NewExecutable checks cfg and that cfg.Path is an executable file; it starts nothing yet.
func NewExecutable(cfg ExecutableConfig) (*Executable, error) {
	if cfg.Name == "" {
		return nil, errors.New("lambdarunner: executable function has no name")
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("lambdarunner: function %s has no executable", cfg.Name)
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("lambdarunner: function %s: %w", cfg.Name, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("lambdarunner: function %s: %w", cfg.Name, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("lambdarunner: function %s: %s is not an executable file", cfg.Name, path)
	}
	var reserved []string
	for k := range cfg.Env {
		if slices.Contains(lambdaReservedEnv, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		// AWS: Lambda's refusal of reserved environment variables
		return nil, fmt.Errorf("lambdarunner: function %s: Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", cfg.Name, strings.Join(reserved, ","))
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("function", cfg.Name)
	return &Executable{
		cfg:     cfg,
		path:    path,
		log:     logger,
		httpLog: logger.With("component", "runtime-api"),
		stamp:   st,
	}, nil
}

// Run invokes the function once, on an idle instance or, when every instance is busy, on a new
// one (inv.ColdStart). It returns ErrThrottled at once when Concurrency instances are busy.
// It returns the function's answer; a *FunctionError when the function returned an error,
// crashed, or failed to initialise; an error wrapping ctx.Err() when ctx ended first (the
// instance is then killed).
func (e *Executable) Run(ctx context.Context, inv *Invocation) ([]byte, error) {
	c := &execCall{inv: inv, deadline: callDeadline(ctx, inv), traceID: newTraceID(), done: make(chan struct{})}
	for {
		in, fresh, err := e.acquire(c)
		if err != nil {
			return nil, err
		}
		out, retry, err := e.runOn(ctx, in, c, fresh)
		if !retry {
			return out, err
		}
	}
}

// Close kills every instance and waits until their processes are reaped and their Runtime API
// servers stopped. Invocations still running fail.
func (e *Executable) Close() error {
	e.mu.Lock()
	e.closed = true
	for _, in := range e.instances {
		in.killLocked()
	}
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// execCall is one invocation on its way through an instance. finished, out and err are guarded by
// Executable.mu.
type execCall struct {
	inv      *Invocation
	deadline time.Time
	traceID  string
	done     chan struct{} // closed when the runtime has answered
	finished bool
	out      []byte
	err      error
}

// execInstance is one process of the executable with its Runtime API server. Unless noted, its
// fields are guarded by Executable.mu.
type execInstance struct {
	e      *Executable
	wake   chan struct{} // capacity 1: an invocation was assigned
	dead   chan struct{} // closed when the process has exited: pending /next calls return
	exited chan struct{} // closed when the instance is reaped, its output read and its server stopped

	// Set by start.
	cmd       *exec.Cmd
	pid       int
	api       *rapiServer
	out       *execOutput
	status    *os.File // /proc/PID/status, nil when there is none
	initTimer *time.Timer
	spawned   time.Time // when the process started, for Init Duration

	call      *execCall // the invocation assigned to the instance, nil when idle
	delivered bool      // call was handed to the runtime by /next
	polled    bool      // the runtime has asked for an invocation: init is over
	polling   int       // /next calls waiting
	retired   bool      // killed when its invocation ends: the file changed, or a deadline passed
	killed    bool      // we killed it
	gone      bool      // the process has exited
	initErr   *FunctionError
	initSlow  bool   // killed for not polling within InitTimeout
	exit      string // how the process ended ("" for exit status 0)

	logMu sync.Mutex  // guards logTo; held while a line is delivered
	logTo *Invocation // where output goes now; nil: the Logger
}

// acquire assigns c to an idle instance, preferring one already waiting on /next, or to a new
// instance (fresh: the caller starts it).
func (e *Executable) acquire(c *execCall) (in *execInstance, fresh bool, err error) {
	st, statErr := os.Stat(e.path)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, errExecutableClosed
	}
	if statErr == nil && !sameVersion(st, e.stamp) {
		// The executable was rebuilt: retire the instances of the old one. Idle ones die now,
		// busy ones when their invocation ends.
		e.stamp = st
		for _, old := range e.instances {
			old.retired = true
			if old.call == nil {
				old.killLocked()
			}
		}
		e.log.Info("executable changed on disk: starting fresh instances", "path", e.path)
	}
	running := 0
	for _, cand := range e.instances {
		if cand.gone {
			continue
		}
		running++
		if cand.call != nil || cand.retired {
			continue
		}
		if in == nil || (cand.polling > 0 && in.polling == 0) {
			in = cand
		}
	}
	if in != nil {
		in.assignLocked(c)
		c.inv.ColdStart = !in.polled // still initialising: the invocation waits for init
		return in, false, nil
	}
	if running >= e.cfg.Concurrency {
		return nil, false, ErrThrottled // AWS: synchronous invocations over the concurrency limit are throttled, not queued
	}
	in = &execInstance{e: e, wake: make(chan struct{}, 1), dead: make(chan struct{}), exited: make(chan struct{})}
	e.instances = append(e.instances, in)
	e.wg.Add(1)
	in.assignLocked(c)
	c.inv.ColdStart = true
	return in, true, nil
}

// assignLocked gives c to the idle instance in.
func (in *execInstance) assignLocked(c *execCall) {
	in.call = c
	in.delivered = false
	in.setLog(c.inv)
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// runOn runs c on in, starting in first when fresh. retry is true when in died before taking c
// from /next: c was never run and may go to another instance.
func (e *Executable) runOn(ctx context.Context, in *execInstance, c *execCall, fresh bool) (out []byte, retry bool, err error) {
	if fresh {
		if err := e.start(in, c.inv.RequestID); err != nil {
			return nil, false, err
		}
	}
	select {
	case <-c.done:
	case <-in.dead:
	case <-ctx.Done():
	}

	e.mu.Lock()
	switch {
	case c.finished:
		e.mu.Unlock()
		return e.complete(in, c)
	case in.gone:
		e.mu.Unlock()
		return e.exited(in, c)
	case !in.delivered:
		// The runtime has not taken the invocation yet (it is initialising, or finishing the
		// previous one): withdraw it and leave the instance be, unless it is retired.
		in.call = nil
		in.setLog(nil)
		if in.retired {
			in.killLocked()
		}
		e.mu.Unlock()
		return nil, false, fmt.Errorf("lambdarunner: invoke %s: %w", e.cfg.Name, ctx.Err())
	default:
		// AWS: an instance still running an invocation past its deadline is stopped and
		// replaced by a new one at the next invocation.
		in.retired = true
		in.killLocked()
		e.mu.Unlock()
		<-in.exited // its last output reaches inv.Log, and the process is gone
		e.mu.Lock()
		in.call = nil
		e.mu.Unlock()
		return nil, false, fmt.Errorf("lambdarunner: invoke %s: %w", e.cfg.Name, ctx.Err())
	}
}

// complete returns the runtime's answer to c once the output written before it has reached
// inv.Log, and makes in idle again (or kills it when retired).
func (e *Executable) complete(in *execInstance, c *execCall) ([]byte, bool, error) {
	mark := in.out.mark()
	c.inv.MaxMemoryUsedMB = peakMemoryMB(in.status) // while the marker travels
	in.out.awaitMark(mark)
	e.mu.Lock()
	in.call = nil
	in.setLog(nil)
	if in.retired || e.closed {
		in.killLocked()
	}
	e.mu.Unlock()
	return c.out, false, c.err
}

// exited reports the end of an instance that died with c assigned.
func (e *Executable) exited(in *execInstance, c *execCall) ([]byte, bool, error) {
	<-in.exited
	e.mu.Lock()
	in.call = nil
	in.setLog(nil)
	finished, closed, delivered, polled := c.finished, e.closed, in.delivered, in.polled
	initErr, initSlow := in.initErr, in.initSlow
	e.mu.Unlock()
	id := c.inv.RequestID
	var fe *FunctionError
	switch {
	case finished: // it answered, then exited
		return c.out, false, c.err
	case closed:
		return nil, false, errExecutableClosed
	case !delivered && polled:
		// It finished an invocation and died before taking this one (aws-lambda-go exits after
		// reporting a panic): Lambda would have run it on a fresh environment.
		return nil, true, nil
	case !polled && initErr != nil:
		return nil, false, initErr // AWS: the runtime's own /init/error
	case !polled && initSlow:
		// AWS (inferred): an init phase over the limit fails the invocation that waits for it.
		fe = &FunctionError{Type: "Runtime.InitError", Message: fmt.Sprintf("RequestId: %s Error: Runtime did not ask for an invocation within the %s init timeout", id, e.cfg.InitTimeout)}
	default:
		fe = &FunctionError{Type: "Runtime.ExitError", Message: runtimeExitMessage(id, in.exit)} // AWS
	}
	sendLog(c.inv, fe.Message+"\n"+fe.Type) // AWS: Lambda logs the error and its type
	if !polled {
		fe.Message = withTail(fe.Message, in.out.tail())
	}
	return nil, false, fe
}

// start starts the process of the new instance in.
func (e *Executable) start(in *execInstance, requestID string) (err error) {
	defer func() {
		if err != nil {
			e.mu.Lock()
			e.instances = slices.DeleteFunc(e.instances, func(x *execInstance) bool { return x == in })
			e.mu.Unlock()
			e.wg.Done()
		}
	}()
	api, err := newRapiServer(in, slog.NewLogLogger(e.httpLog.Handler(), slog.LevelDebug))
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		api.close()
		return fmt.Errorf("lambdarunner: function %s: %w", e.cfg.Name, err)
	}
	cmd := exec.Command(e.path, e.cfg.Args...)
	cmd.Dir = filepath.Dir(e.path) // AWS: the runtime starts in LAMBDA_TASK_ROOT
	cmd.Env = e.environ(api.addr(), newLogStreamName())
	cmd.Stdout, cmd.Stderr = w, w // one pipe: stdout and stderr interleave as in the log stream
	cmd.SysProcAttr = processGroupAttr()
	if err := cmd.Start(); err != nil {
		api.close()
		_ = r.Close()
		_ = w.Close()
		// AWS: a bootstrap that cannot be executed fails as Runtime.InvalidEntrypoint.
		return &FunctionError{Type: "Runtime.InvalidEntrypoint", Message: fmt.Sprintf("RequestId: %s Error: %v", requestID, err)}
	}
	out := newExecOutput(r, w, in.logLine)
	e.mu.Lock()
	in.cmd, in.pid, in.api, in.out, in.status = cmd, cmd.Process.Pid, api, out, openStatus(cmd.Process.Pid)
	in.spawned = time.Now()
	in.initTimer = time.AfterFunc(e.cfg.InitTimeout, in.initTimedOut)
	if e.closed {
		in.killLocked()
	}
	e.mu.Unlock()
	go out.read()
	go e.reap(in)
	e.log.Debug("instance started", "pid", in.pid, "runtime_api", api.addr())
	return nil
}

// environ is the environment Lambda gives a provided.al2023 runtime, then cfg.Env. Nothing is
// inherited from this process but PATH.
func (e *Executable) environ(apiAddr, logStream string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin/:/bin:/opt/bin" // AWS: Lambda's PATH
	}
	env := []string{
		// AWS: the environment of a Lambda execution environment.
		"AWS_LAMBDA_RUNTIME_API=" + apiAddr,
		"AWS_LAMBDA_FUNCTION_NAME=" + e.cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(e.cfg.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + e.cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + logStream,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + e.cfg.Region,
		"AWS_DEFAULT_REGION=" + e.cfg.Region,
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"_HANDLER=" + filepath.Base(e.path),
		"LAMBDA_TASK_ROOT=" + filepath.Dir(e.path),
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=" + path,
	}
	keys := make([]string, 0, len(e.cfg.Env))
	for k := range e.cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+e.cfg.Env[k]) // os/exec keeps the last of duplicate keys: PATH, LANG, TZ may be overridden
	}
	return env
}

// reap waits for the process of in to exit and tears the instance down.
func (e *Executable) reap(in *execInstance) {
	defer e.wg.Done()
	werr := in.cmd.Wait()
	killGroup(in.pid) // whatever it forked dies with it
	in.initTimer.Stop()
	e.mu.Lock()
	in.gone = true
	in.exit = exitReason(werr)
	killed, initSlow := in.killed, in.initSlow
	e.mu.Unlock()
	close(in.dead)
	in.out.close()
	in.api.close()
	if in.status != nil {
		_ = in.status.Close()
	}
	e.mu.Lock()
	e.instances = slices.DeleteFunc(e.instances, func(x *execInstance) bool { return x == in })
	e.mu.Unlock()
	switch {
	case initSlow:
		e.log.Warn("instance killed: it did not ask for an invocation within the init timeout", "pid", in.pid, "init_timeout", e.cfg.InitTimeout, "output_tail", strings.Join(in.out.tail(), "\n"))
	case killed:
		e.log.Debug("instance stopped", "pid", in.pid)
	default:
		e.log.Warn("instance exited", "pid", in.pid, "status", cmp.Or(in.exit, "exit status 0"), "output_tail", strings.Join(in.out.tail(), "\n"))
	}
	close(in.exited)
}

// killLocked kills the process group of in, if it runs.
func (in *execInstance) killLocked() {
	if in.pid > 0 && !in.gone {
		in.killed = true
		killGroup(in.pid)
	}
}

// initTimedOut kills in if it has not polled /next yet.
func (in *execInstance) initTimedOut() {
	in.e.mu.Lock()
	defer in.e.mu.Unlock()
	if !in.polled && !in.gone {
		in.initSlow = true
		in.killLocked()
	}
}

// setLog sends the output of in to inv's Log from now on (nil: to the Logger).
func (in *execInstance) setLog(inv *Invocation) {
	in.logMu.Lock()
	in.logTo = inv
	in.logMu.Unlock()
}

// logLine delivers one line of output.
func (in *execInstance) logLine(text string) {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	if in.logTo != nil {
		sendLog(in.logTo, text)
		return
	}
	in.e.log.Info("function output", "pid", in.pid, "line", text)
}

// sendLog sends text to inv.Log, if any.
func sendLog(inv *Invocation, text string) {
	if inv.Log != nil {
		inv.Log(text)
	}
}

// next implements rapiBackend.
func (in *execInstance) next(ctx context.Context) (rapiEvent, error) {
	e := in.e
	e.mu.Lock()
	defer e.mu.Unlock()
	in.polled = true
	for {
		if in.gone {
			return rapiEvent{}, errRapiStopping
		}
		if c := in.call; c != nil {
			if !in.delivered {
				in.delivered = true
				if c.inv.ColdStart {
					c.inv.InitDuration = time.Since(in.spawned)
				}
				c.inv.Start() // init is over: the function takes the invocation now
				return rapiEvent{RequestID: c.inv.RequestID, Payload: c.inv.Event, Deadline: c.deadline, FunctionARN: e.cfg.ARN, TraceID: c.traceID}, nil
			}
			if !c.finished {
				return rapiEvent{}, &rapiStateError{From: "Running", To: "Ready"} // AWS: /next before answering
			}
		}
		in.polling++
		e.mu.Unlock()
		select {
		case <-in.wake:
		case <-ctx.Done():
		case <-in.dead:
		}
		e.mu.Lock()
		in.polling--
		if ctx.Err() != nil {
			return rapiEvent{}, ctx.Err()
		}
	}
}

// expects implements rapiBackend.
func (in *execInstance) expects(id string) bool {
	in.e.mu.Lock()
	defer in.e.mu.Unlock()
	return in.expectsLocked(id)
}

func (in *execInstance) expectsLocked(id string) bool {
	c := in.call
	return c != nil && in.delivered && !c.finished && c.inv.RequestID == id
}

// complete implements rapiBackend.
func (in *execInstance) complete(id string, out []byte, fe *FunctionError) error {
	in.e.mu.Lock()
	defer in.e.mu.Unlock()
	if !in.expectsLocked(id) {
		return errRapiInvalidRequestID
	}
	c := in.call
	c.finished = true
	c.out = out
	if fe != nil {
		c.err = fe
	}
	close(c.done)
	return nil
}

// initError implements rapiBackend.
func (in *execInstance) initError(fe *FunctionError) error {
	in.e.mu.Lock()
	defer in.e.mu.Unlock()
	if in.polled {
		return &rapiStateError{From: "Ready", To: "InitError"} // AWS: /init/error after init
	}
	in.initErr = fe
	return nil
}

// kill implements rapiBackend.
func (in *execInstance) kill() {
	in.e.mu.Lock()
	in.killLocked()
	in.e.mu.Unlock()
}

// execOutput reads what an instance writes to stdout and stderr (one pipe) and hands it on line
// by line. It reads continuously, so a function writing a lot is never blocked by it, and holds
// at most one line (maxLogLine) and a short tail.
type execOutput struct {
	r, w *os.File // w: our copy of the write end, for flush markers
	emit func(line string)

	wmu    sync.Mutex // guards w, wdone, sent
	wdone  bool
	sent   int64         // markers written
	seen   atomic.Int64  // markers read
	marked chan struct{} // capacity 1: a marker was read
	eof    chan struct{} // closed when read returns

	tmu   sync.Mutex
	lines []string // the last lines, for init errors
	tsize int
}

// flushMarker is written into the pipe to find out when everything written before it has been
// read: the bytes the function wrote before answering precede it in the pipe.
var flushMarker = []byte("\x00\x1biotemu-flush\x1b") // 0x00 occurs only at the start

func newExecOutput(r, w *os.File, emit func(string)) *execOutput {
	return &execOutput{r: r, w: w, emit: emit, marked: make(chan struct{}, 1), eof: make(chan struct{})}
}

// read splits the output into lines until EOF, removing flush markers.
func (o *execOutput) read() {
	defer close(o.eof)
	buf := make([]byte, 32<<10)
	var line []byte
	matched := 0 // bytes of flushMarker matched so far
	for {
		n, err := o.r.Read(buf)
		for _, b := range buf[:n] {
			if b == flushMarker[matched] {
				matched++
				if matched == len(flushMarker) {
					matched = 0
					line = o.endLine(line) // the invocation's last, unterminated line
					o.seen.Add(1)
					select {
					case o.marked <- struct{}{}:
					default:
					}
				}
				continue
			}
			for _, m := range flushMarker[:matched] {
				line = o.put(line, m)
			}
			matched = 0
			if b == flushMarker[0] {
				matched = 1
				continue
			}
			line = o.put(line, b)
		}
		if err != nil {
			break
		}
	}
	for _, m := range flushMarker[:matched] {
		line = o.put(line, m)
	}
	o.endLine(line)
}

// put adds b to line.
func (o *execOutput) put(line []byte, b byte) []byte {
	if b == '\n' {
		o.emitLine(line)
		return line[:0]
	}
	if len(line) == maxLogLine {
		o.emitLine(line)
		line = line[:0]
	}
	return append(line, b)
}

// endLine emits line if it is not empty.
func (o *execOutput) endLine(line []byte) []byte {
	if len(line) > 0 {
		o.emitLine(line)
	}
	return line[:0]
}

func (o *execOutput) emitLine(line []byte) {
	text := string(line)
	tailText := text
	if len(tailText) > tailBytes {
		tailText = strings.Clone(tailText[len(tailText)-tailBytes:])
	}
	o.tmu.Lock()
	o.lines = append(o.lines, tailText)
	o.tsize += len(tailText)
	for len(o.lines) > tailLines || o.tsize > tailBytes {
		o.tsize -= len(o.lines[0])
		o.lines = o.lines[1:]
	}
	o.tmu.Unlock()
	o.emit(text)
}

// tail returns the last lines of output (at most tailLines lines, tailBytes bytes).
func (o *execOutput) tail() []string {
	o.tmu.Lock()
	defer o.tmu.Unlock()
	return slices.Clone(o.lines)
}

// mark writes a flush marker into the pipe: everything written to the pipe before it will have
// been read and handed on when read has seen the marker. It returns the marker's number, or -1
// when the pipe is closed.
func (o *execOutput) mark() int64 {
	o.wmu.Lock()
	defer o.wmu.Unlock()
	if o.wdone {
		return -1
	}
	if _, err := o.w.Write(flushMarker); err != nil {
		return -1
	}
	o.sent++
	return o.sent
}

// awaitMark waits until read has seen marker number want (-1: until EOF), or for flushTimeout.
func (o *execOutput) awaitMark(want int64) {
	t := time.NewTimer(flushTimeout)
	defer t.Stop()
	for want < 0 || o.seen.Load() < want {
		select {
		case <-o.marked:
		case <-o.eof:
			return
		case <-t.C:
			return
		}
	}
}

// close closes our write end and waits for read to reach EOF; a process that escaped the
// process group and still holds the pipe is cut off after drainTimeout.
func (o *execOutput) close() {
	o.wmu.Lock()
	o.wdone = true
	_ = o.w.Close()
	o.wmu.Unlock()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-o.eof:
	case <-t.C:
	}
	_ = o.r.Close() // unblocks a pending Read
	<-o.eof
}

// sameVersion reports whether a and b describe the same version of a file: the same file
// (device and inode), size and modification time.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// processGroupAttr puts a new process in a process group of its own, so that killGroup kills
// whatever it forks too.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the process group of pid with SIGKILL.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// callDeadline is the deadline the runtime is told: the invocation's, else ctx's.
func callDeadline(ctx context.Context, inv *Invocation) time.Time {
	if !inv.Deadline.IsZero() {
		return inv.Deadline
	}
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultTimeout)
}

// newTraceID returns an X-Ray trace header for Lambda-Runtime-Trace-Id.
func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	// AWS: X-Ray's header format, Root=1-<epoch hex>-<96-bit id>;Parent=<64-bit id>;Sampled=0|1
	return fmt.Sprintf("Root=1-%08x-%x;Parent=%x;Sampled=0", time.Now().Unix(), b[:12], b[12:])
}

// newLogStreamName returns a log stream name in Lambda's format.
func newLogStreamName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(b[:]) // AWS
}

// exitReason describes how a process ended, as Lambda does: "exit status 2", "signal: killed";
// "" for a clean exit.
func exitReason(waitErr error) string {
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
		return ""
	case errors.As(waitErr, &ee):
		return ee.ProcessState.String()
	default:
		return waitErr.Error()
	}
}

// runtimeExitMessage is Lambda's message for a runtime that exited.
func runtimeExitMessage(requestID, reason string) string {
	if reason == "" {
		return "RequestId: " + requestID + " Error: Runtime exited without providing a reason" // AWS
	}
	return "RequestId: " + requestID + " Error: Runtime exited with error: " + reason // AWS
}

// withTail appends the last lines of output to msg.
func withTail(msg string, tail []string) string {
	if len(tail) == 0 {
		return msg
	}
	return msg + "\n" + strings.Join(tail, "\n")
}

// openStatus opens /proc/PID/status (Linux) to read the process's peak memory from; nil
// elsewhere.
func openStatus(pid int) *os.File {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	return f
}

// peakMemoryMB is the peak resident memory (VmHWM) in status, an open /proc/PID/status; 0 when
// unknown.
func peakMemoryMB(status *os.File) int {
	if status == nil {
		return 0
	}
	var buf [4096]byte
	n, err := status.ReadAt(buf[:], 0) // procfs regenerates the file at offset 0
	if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return 0
	}
	_, v, ok := bytes.Cut(buf[:n], []byte("VmHWM:"))
	if !ok {
		return 0
	}
	v, _, _ = bytes.Cut(v, []byte(" kB"))
	kb, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil {
		return 0
	}
	return (kb + 1023) / 1024
}
