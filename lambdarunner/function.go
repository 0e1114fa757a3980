package lambdarunner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// MaxResponseBytes is the largest answer Lambda returns from a synchronous invocation.
const MaxResponseBytes = 6 * 1024 * 1024 // AWS: 6 MB synchronous response payload limit

// DefaultTimeout is a function's timeout when none is configured: AWS IoT gives an authorizer
// 5 seconds whatever the function's own timeout is.
const DefaultTimeout = 5 * time.Second

// DefaultMemoryMB is a function's memory size when none is configured (Lambda's default).
const DefaultMemoryMB = 128

// LogLine is one line of a function's log (CloudWatch's /aws/lambda/NAME).
type LogLine struct {
	Time      time.Time
	LogGroup  string
	RequestID string
	Text      string
}

// FunctionConfig describes a Function.
type FunctionConfig struct {
	// Name is the function name; ARN its full ARN.
	Name, ARN string
	// Runtime runs the code.
	Runtime Runtime
	// Timeout is the function's timeout (default 5 s).
	Timeout time.Duration
	// MemoryMB is the configured memory size, reported in REPORT lines (default 128).
	MemoryMB int
	// Policy is the function's initial resource-based policy; nil allows nothing.
	Policy *ResourcePolicy
	// Log receives the function's log lines; nil discards them.
	Log func(LogLine)
}

// Function is a Lambda function: its code (a Runtime) plus what Lambda adds around every
// invocation: a request ID, the timeout, START/END/REPORT log lines, the 6 MB answer limit,
// the resource-based policy and metrics.
type Function struct {
	cfg      FunctionConfig
	logGroup string // made once: every log line names it
	policy   atomic.Pointer[ResourcePolicy]
	metrics  *metrics
}

// NewFunction checks cfg and returns the function.
func NewFunction(cfg FunctionConfig) (*Function, error) {
	if cfg.Name == "" {
		return nil, errors.New("lambdarunner: function has no name")
	}
	if cfg.Runtime == nil {
		return nil, fmt.Errorf("lambdarunner: function %s has no runtime", cfg.Name)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.Log == nil {
		cfg.Log = func(LogLine) {}
	}
	f := &Function{cfg: cfg, logGroup: "/aws/lambda/" + cfg.Name, metrics: newMetrics()}
	f.SetPolicy(cfg.Policy)
	return f, nil
}

// Name returns the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// ARN returns the function's ARN.
func (f *Function) ARN() string { return f.cfg.ARN }

// LogGroup returns the function's CloudWatch log group, /aws/lambda/NAME.
func (f *Function) LogGroup() string { return f.logGroup }

// Policy returns the function's resource-based policy.
func (f *Function) Policy() *ResourcePolicy { return f.policy.Load() }

// SetPolicy replaces the function's resource-based policy (AddPermission, RemovePermission).
func (f *Function) SetPolicy(p *ResourcePolicy) {
	if p == nil {
		p = &ResourcePolicy{}
	}
	f.policy.Store(p)
}

// Metrics returns the function's invocation metrics so far.
func (f *Function) Metrics() Metrics { return f.metrics.snapshot() }

// Datapoints returns the newest MaxDatapoints invocations' datapoints, oldest first: the time
// series behind CloudWatch's AWS/Lambda metrics.
func (f *Function) Datapoints() []Datapoint { return f.metrics.datapoints() }

// Close releases what the runtime holds (processes, connections).
func (f *Function) Close() error {
	if c, ok := f.cfg.Runtime.(Closer); ok {
		return c.Close()
	}
	return nil
}

type requestIDKey struct{}

// WithRequestID returns a context that makes the next invocation use id as its request ID,
// so that the caller can point at the invocation's log lines.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// Invoke runs one invocation as Lambda does.
func (f *Function) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	id, _ := ctx.Value(requestIDKey{}).(string)
	if id == "" {
		id = uuid.NewString()
	}
	// The deadline counts from a moment the timeout message also counts from, so that it says
	// exactly the time given (AWS: the configured timeout), however long the lines below take.
	invoked := time.Now()
	ctx, cancel := context.WithDeadline(ctx, invoked.Add(f.cfg.Timeout))
	defer cancel()
	deadline, _ := ctx.Deadline()
	// AWS: a cold start's init output comes before START, outside the request; the rest of the
	// function's lines carry its request ID.
	var mu sync.Mutex
	started := false
	start := func() {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			started = true
			f.log(id, "START RequestId: "+id+" Version: $LATEST") // AWS: Lambda's START line
		}
	}
	logLine := func(text string) {
		mu.Lock()
		defer mu.Unlock()
		if started {
			f.log(id, text)
		} else {
			f.log("", text)
		}
	}
	inv := &Invocation{RequestID: id, Event: event, Deadline: deadline, Log: logLine, Started: start}

	begin := time.Now()
	concurrency := f.metrics.begin()
	out, err := f.cfg.Runtime.Run(ctx, inv)
	elapsed := time.Since(begin)
	start() // an invocation that never reached the function still gets its START
	if err == nil && len(out) > MaxResponseBytes {
		// AWS: a synchronous answer over 6 MB fails the invocation.
		err = &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", len(out), MaxResponseBytes)}
		out = nil
	}
	timedOut := err != nil && errors.Is(err, context.DeadlineExceeded) && !time.Now().Before(deadline)
	if timedOut {
		f.log(id, fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), id, f.timeoutFor(invoked, deadline).Seconds()))
	}
	f.log(id, "END RequestId: "+id)
	f.log(id, f.report(id, elapsed, inv, timedOut, err))
	f.metrics.record(begin, concurrency, elapsed, err, timedOut, errors.Is(err, ErrThrottled), inv.ColdStart)
	return out, err
}

// timeoutFor is the time the invocation was given.
func (f *Function) timeoutFor(start, deadline time.Time) time.Duration {
	return deadline.Sub(start).Round(10 * time.Millisecond)
}

// report formats Lambda's REPORT line.
func (f *Function) report(id string, d time.Duration, inv *Invocation, timedOut bool, err error) string {
	ms := float64(d.Microseconds()) / 1000
	// What fmt's "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size:
	// %d MB" writes, without fmt: a line per invocation.
	b := append(make([]byte, 0, 128), "REPORT RequestId: "...)
	b = append(b, id...)
	b = strconv.AppendFloat(append(b, "\tDuration: "...), ms, 'f', 2, 64)
	b = strconv.AppendInt(append(b, " ms\tBilled Duration: "...), int64(math.Ceil(ms)), 10)
	b = strconv.AppendInt(append(b, " ms\tMemory Size: "...), int64(f.cfg.MemoryMB), 10)
	line := string(append(b, " MB"...))
	if inv.MaxMemoryUsedMB > 0 {
		line += fmt.Sprintf("\tMax Memory Used: %d MB", inv.MaxMemoryUsedMB)
	}
	if inv.ColdStart && inv.InitDuration > 0 {
		line += fmt.Sprintf("\tInit Duration: %.2f ms", float64(inv.InitDuration.Microseconds())/1000) // AWS: cold starts report their init
	}
	var fe *FunctionError
	switch {
	case timedOut:
		line += "\tStatus: timeout"
	case errors.As(err, &fe) && fe.Type == ErrorTypeOutOfMemory:
		line += "\tStatus: error\tError Type: " + ErrorTypeOutOfMemory // AWS: the REPORT line of a function killed for its memory
	}
	return line
}

func (f *Function) log(id, text string) {
	f.cfg.Log(LogLine{Time: time.Now(), LogGroup: f.LogGroup(), RequestID: id, Text: text})
}
