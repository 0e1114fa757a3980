package lambdarunner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

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

	call        *execCall // the invocation assigned to the instance, nil when idle
	delivered   bool      // call was handed to the runtime by /next
	polled      bool      // the runtime has asked for an invocation: init is over
	polling     int       // /next calls waiting
	retired     bool      // killed when its invocation ends: the file changed, or a deadline passed
	killed      bool      // we killed it
	gone        bool      // the process has exited
	initErr     *FunctionError
	initSlow    bool   // killed for not polling within InitTimeout
	outOfMemory bool   // killed for using more than MemoryMB
	exit        string // how the process ended ("" for exit status 0)

	logMu sync.Mutex  // guards logTo; held while a line is delivered
	logTo *Invocation // where output goes now; nil: the Logger
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
	go in.watchMemory(e.cfg.MemoryMB)
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
	// Not Lambda's, and last so that no configured key replaces it: lets ReapOrphans find what
	// an instance left behind.
	return append(env, supervisorEnviron()...)
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
	killed, initSlow, oom := in.killed, in.initSlow, in.outOfMemory
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
	case oom:
		e.log.Warn("instance killed: its resident memory passed the function's memory size", "pid", in.pid, "memory_size_mb", e.cfg.MemoryMB)
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
