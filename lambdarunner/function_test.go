package lambdarunner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// runtimeFunc adapts a func to Runtime.
type runtimeFunc func(ctx context.Context, inv *Invocation) ([]byte, error)

func (f runtimeFunc) Run(ctx context.Context, inv *Invocation) ([]byte, error) { return f(ctx, inv) }

type lines struct {
	mu sync.Mutex
	l  []LogLine
}

func (l *lines) add(x LogLine) { l.mu.Lock(); l.l = append(l.l, x); l.mu.Unlock() }

func (l *lines) texts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, x := range l.l {
		out = append(out, x.Text)
	}
	return out
}

func newTestFunction(t *testing.T, rt Runtime, timeout time.Duration) (*Function, *lines) {
	t.Helper()
	var l lines
	f, err := NewFunction(FunctionConfig{Name: "fn", Runtime: rt, Timeout: timeout, Log: l.add})
	if err != nil {
		t.Fatal(err)
	}
	return f, &l
}

func TestFunctionFramesEachInvocationLikeLambda(t *testing.T) {
	f, l := newTestFunction(t, runtimeFunc(func(_ context.Context, inv *Invocation) ([]byte, error) {
		inv.Log("init output")
		inv.ColdStart, inv.InitDuration = true, 42*time.Millisecond
		inv.Start()
		inv.Log("hello from the function")
		return []byte(`{}`), nil
	}), 0)
	if _, err := f.Invoke(WithRequestID(context.Background(), "req-1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	got := l.texts()
	if len(got) != 5 || got[0] != "init output" || got[1] != "START RequestId: req-1 Version: $LATEST" || got[2] != "hello from the function" ||
		got[3] != "END RequestId: req-1" || !strings.HasPrefix(got[4], "REPORT RequestId: req-1\tDuration: ") ||
		!strings.Contains(got[4], "\tBilled Duration: ") || !strings.Contains(got[4], "\tMemory Size: 128 MB") ||
		!strings.Contains(got[4], "\tInit Duration: 42.00 ms") {
		t.Fatalf("log lines:\n%s", strings.Join(got, "\n"))
	}
	if l.l[0].RequestID != "" || l.l[2].RequestID != "req-1" {
		t.Errorf("init output belongs to no request, the function's lines to req-1: %+v", l.l)
	}
	if m := f.Metrics(); m.Invocations != 1 || m.ColdStarts != 1 || m.Errors != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestFunctionTimeout(t *testing.T) {
	f, l := newTestFunction(t, runtimeFunc(func(ctx context.Context, _ *Invocation) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), 30*time.Millisecond)
	_, err := f.Invoke(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	got := strings.Join(l.texts(), "\n")
	if !strings.Contains(got, "Task timed out after 0.03 seconds") || !strings.Contains(got, "Status: timeout") {
		t.Fatalf("log lines:\n%s", got)
	}
	if m := f.Metrics(); m.Timeouts != 1 || m.Errors != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestFunctionRefusesAnswersOver6MB(t *testing.T) {
	big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), MaxResponseBytes)...), '"')
	f, _ := newTestFunction(t, runtimeFunc(func(context.Context, *Invocation) ([]byte, error) { return big, nil }), 0)
	_, err := f.Invoke(context.Background(), nil)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "Function.ResponseSizeTooLarge" {
		t.Fatalf("got %v", err)
	}
	if !json.Valid(big) {
		t.Fatal("test answer is not JSON")
	}
}

func TestFunctionThrottlesAreNotInvocations(t *testing.T) {
	f, _ := newTestFunction(t, runtimeFunc(func(context.Context, *Invocation) ([]byte, error) { return nil, ErrThrottled }), 0)
	f.Invoke(context.Background(), nil)
	if m := f.Metrics(); m.Throttles != 1 || m.Invocations != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestFunctionDatapoints: each invocation and each throttle leaves a datapoint (CloudWatch's
// AWS/Lambda time series); concurrent invocations see each other; the newest MaxDatapoints are kept.
func TestFunctionDatapoints(t *testing.T) {
	release := make(chan struct{})
	inside := make(chan struct{}, 2)
	f, _ := newTestFunction(t, runtimeFunc(func(_ context.Context, inv *Invocation) ([]byte, error) {
		switch string(inv.Event) {
		case "throttle":
			return nil, ErrThrottled
		case "fail":
			return nil, &FunctionError{Type: "Error", Message: "boom"}
		case "wait":
			inside <- struct{}{}
			<-release
		}
		return []byte("{}"), nil
	}), 0)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { f.Invoke(context.Background(), []byte("wait")) })
	}
	<-inside
	<-inside
	close(release)
	wg.Wait()
	f.Invoke(context.Background(), []byte("fail"))
	f.Invoke(context.Background(), []byte("throttle"))
	points := f.Datapoints()
	if len(points) != 4 {
		t.Fatalf("%d datapoints, want 4: %+v", len(points), points)
	}
	if points[0].Concurrency+points[1].Concurrency != 3 { // 1 and 2, in either order
		t.Errorf("concurrency %d and %d, want 1 and 2", points[0].Concurrency, points[1].Concurrency)
	}
	if p := points[2]; !p.Error || p.Throttled || p.Concurrency != 1 {
		t.Errorf("failed invocation: %+v", p)
	}
	if p := points[3]; !p.Throttled || p.Error || p.Duration != 0 {
		t.Errorf("throttle: %+v", p)
	}
	for range MaxDatapoints {
		f.Invoke(context.Background(), nil)
	}
	if points := f.Datapoints(); len(points) != MaxDatapoints || points[0].Error || points[len(points)-1].Throttled {
		t.Errorf("after %d more: %d datapoints", MaxDatapoints, len(points))
	}
}

func TestResourcePolicy(t *testing.T) {
	caller := Caller{Principal: IoTPrincipal, SourceARN: "arn:aws:iot:us-east-1:123456789012:authorizer/A", SourceAccount: "123456789012"}
	cases := []struct {
		name string
		p    *ResourcePolicy
		ok   bool
	}{
		{"nil", nil, false},
		{"IoT statement for this authorizer", &ResourcePolicy{Statements: []Statement{IoTStatement("s", caller.SourceARN)}}, true},
		{"IoT statement for another authorizer", &ResourcePolicy{Statements: []Statement{IoTStatement("s", "arn:aws:iot:us-east-1:123456789012:authorizer/B")}}, false},
		{"no conditions", &ResourcePolicy{Statements: []Statement{{Effect: "Allow", Principal: IoTPrincipal, Action: "lambda:*"}}}, true},
		{"wrong action", &ResourcePolicy{Statements: []Statement{{Effect: "Allow", Principal: IoTPrincipal, Action: "lambda:GetFunction"}}}, false},
		{"deny wins", &ResourcePolicy{Statements: []Statement{{Effect: "Allow", Principal: "*", Action: "*"}, {Effect: "Deny", Principal: IoTPrincipal, Action: ActionInvoke}}}, false},
	}
	for _, tc := range cases {
		if err := tc.p.Check(caller); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed=%v", tc.name, err, tc.ok)
		} else if err != nil && !errors.Is(err, ErrNotPermitted) {
			t.Errorf("%s: error %v does not wrap ErrNotPermitted", tc.name, err)
		}
	}
	bad := &ResourcePolicy{Statements: []Statement{{Effect: "Maybe", Condition: map[string]map[string]string{"NumericEquals": {"AWS:Foo": "1"}}}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "Maybe") || !strings.Contains(err.Error(), "NumericEquals") || !strings.Contains(err.Error(), "AWS:Foo") {
		t.Errorf("Validate: %v", err)
	}
}
