package lambdarunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/iotemu/iotemu/internal/workpool"
)

// InProcess is a Runtime that calls a Go handler in this process.
//
// aws-lambda-go's handler returns its answer in a buffer it reuses at its next invocation, which
// is safe under lambda.Start (one invocation at a time) but not here, where connections invoke
// concurrently. So each concurrent invocation takes its own wrapped handler from a pool, and the
// answer is copied before the handler goes back.
type InProcess struct {
	handlers sync.Pool // of lambda.Handler
	warm     atomic.Bool
	workers  *workpool.Pool[inProcessCall]
}

// NewInProcess wraps handler, which may be anything aws-lambda-go's lambda.Start accepts (for
// example func(context.Context, events.IoTCoreCustomAuthorizerRequest)
// (events.IoTCoreCustomAuthorizerResponse, error)) or a lambda.Handler. A handler of the wrong
// shape is reported here, not at the first invocation.
func NewInProcess(handler any) (*InProcess, error) {
	if handler == nil {
		return nil, errors.New("lambdarunner: nil handler")
	}
	if h, ok := handler.(lambda.Handler); ok {
		p := newInProcess()
		p.handlers.New = func() any { return h } // the caller's own handler: its concurrency is its business
		return p, nil
	}
	if err := checkHandlerShape(reflect.TypeOf(handler)); err != nil {
		return nil, fmt.Errorf("lambdarunner: %w", err)
	}
	p := newInProcess()
	p.handlers.New = func() any { return lambda.NewHandler(handler) }
	return p, nil
}

// newInProcess returns an InProcess without handlers. Invocations run on reused workers:
// decoding the event needs a deeper stack than a new goroutine has.
func newInProcess() *InProcess {
	p := &InProcess{}
	p.workers = workpool.New(workerIdle, func(c inProcessCall) { c.done <- p.invoke(c) })
	return p
}

// checkHandlerShape applies the rules aws-lambda-go enforces lazily, so that a bad handler is
// refused when the emulator starts.
func checkHandlerShape(t reflect.Type) error {
	if t.Kind() != reflect.Func {
		return fmt.Errorf("handler kind %s is not func", t.Kind())
	}
	if t.NumIn() > 2 {
		return fmt.Errorf("handlers may not take more than two arguments, but handler takes %d", t.NumIn())
	}
	ctxType := reflect.TypeFor[context.Context]()
	if t.NumIn() == 2 && !t.In(0).Implements(ctxType) {
		return fmt.Errorf("handler takes two arguments, but the first is not Context. got %s", t.In(0))
	}
	errType := reflect.TypeFor[error]()
	switch t.NumOut() {
	case 0:
	case 1:
		if !t.Out(0).Implements(errType) {
			return errors.New("handler returns a single value, but it does not implement error")
		}
	case 2:
		if !t.Out(1).Implements(errType) {
			return errors.New("handler returns two values, but the second does not implement error")
		}
	default:
		return fmt.Errorf("handler may not return more than two values")
	}
	return nil
}

// Run calls the handler. A panic or an error returned by the handler becomes a
// *FunctionError, as Lambda reports it; a handler still running when ctx ends is abandoned.
// The first invocation counts as the cold start.
func (p *InProcess) Run(ctx context.Context, inv *Invocation) ([]byte, error) {
	inv.ColdStart = !p.warm.Swap(true)
	inv.Start()
	done := make(chan inProcessResult, 1)
	p.workers.Go(inProcessCall{ctx, inv.Event, done})
	select {
	case r := <-done:
		if r.err != nil {
			return nil, asFunctionError(r.err)
		}
		return r.out, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke: %w", ctx.Err())
	}
}

// inProcessCall is an invocation handed to a worker; the worker sends its result to done (buffered:
// the caller may have given up).
type inProcessCall struct {
	ctx   context.Context
	event []byte
	done  chan<- inProcessResult
}

// inProcessResult is what a worker sends back.
type inProcessResult struct {
	out []byte
	err error
}

// workerIdle is how long a worker waits for another invocation before it ends.
const workerIdle = time.Second

// invoke calls the handler for c, turning a panic into Runtime.Panic.
func (p *InProcess) invoke(c inProcessCall) (r inProcessResult) {
	defer func() {
		if v := recover(); v != nil {
			r = inProcessResult{err: &FunctionError{Message: fmt.Sprint(v), Type: "Runtime.Panic"}}
		}
	}()
	h := p.handlers.Get().(lambda.Handler)
	out, err := h.Invoke(c.ctx, c.event)
	out = bytes.Clone(out) // before h, and the buffer behind out, can serve another invocation
	p.handlers.Put(h)
	return inProcessResult{out, err}
}

// asFunctionError turns a handler's error into the payload Lambda would report: aws-lambda-go's
// own error type keeps its message and type; any other error gets its Go type name.
func asFunctionError(err error) *FunctionError {
	var ie messages.InvokeResponse_Error
	if errors.As(err, &ie) {
		return &FunctionError{Message: ie.Message, Type: ie.Type}
	}
	var iep *messages.InvokeResponse_Error
	if errors.As(err, &iep) {
		return &FunctionError{Message: iep.Message, Type: iep.Type}
	}
	var fe *FunctionError
	if errors.As(err, &fe) {
		return fe
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return &FunctionError{Message: err.Error(), Type: t.Name()}
}
