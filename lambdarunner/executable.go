package lambdarunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
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

// lambdaReservedEnv are the keys Lambda sets itself and refuses in a function's configuration,
// plus _LAMBDA_SERVER_PORT, which would switch aws-lambda-go to its legacy RPC mode.
var lambdaReservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
	"_LAMBDA_SERVER_PORT",
}

// ErrorTypeOutOfMemory is the error type of an invocation whose function passed its memory
// size. AWS: Lambda's errorType for it.
const ErrorTypeOutOfMemory = "Runtime.OutOfMemory"

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
	reapOnce.Do(func() {
		if n, err := ReapOrphans(); err != nil || n > 0 {
			logger.Warn("killed processes that functions of an emulator no longer running left behind", "processes", n, "err", err)
		}
	})
	return &Executable{
		cfg:     cfg,
		path:    path,
		log:     logger,
		httpLog: logger.With("component", "runtime-api"),
		stamp:   st,
	}, nil
}

// reapOnce runs ReapOrphans at the first NewExecutable of the process: the emulator's start.
var reapOnce sync.Once

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
	initErr, initSlow, oom := in.initErr, in.initSlow, in.outOfMemory
	e.mu.Unlock()
	id := c.inv.RequestID
	var fe *FunctionError
	switch {
	case finished: // it answered, then exited
		return c.out, false, c.err
	case closed:
		return nil, false, errExecutableClosed
	case oom:
		// AWS: a function over its memory size is killed; the error is Runtime.OutOfMemory with
		// the message of a runtime killed by SIGKILL, and it used all its memory.
		fe = &FunctionError{Type: ErrorTypeOutOfMemory, Message: runtimeExitMessage(id, "signal: killed")}
		c.inv.MaxMemoryUsedMB = e.cfg.MemoryMB
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

// sameVersion reports whether a and b describe the same version of a file: the same file
// (device and inode), size and modification time.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
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
