//go:build linux

package lambdarunner

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/iotemu/iotemu/internal/syncbuf"

	"github.com/iotemu/iotemu/internal/testtool"
)

// rieTool is AWS's Runtime Interface Emulator; .ci/install-tools installs it.
const rieTool = "aws-lambda-rie"

// buildExampleAuthorizer builds examples/authorizer as provided.al2023 runs it: a static
// binary named bootstrap.
func buildExampleAuthorizer(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-o", out, "../examples/authorizer")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/authorizer: %v\n%s", err, b)
	}
	return out
}

// rieProcess is a running Runtime Interface Emulator serving one function.
type rieProcess struct {
	url    string
	output *syncbuf.Buffer // the emulator's log, with the function's own lines in it
}

// startRIE runs bootstrap under the Runtime Interface Emulator with env as the function's
// environment, and returns once it answers invocations. The emulator and the function are
// killed when the test ends.
func startRIE(t testing.TB, bootstrap string, env ...string) *rieProcess {
	t.Helper()
	tool := testtool.Require(t, rieTool)
	const attempts = 3 // the free ports picked may be taken before the emulator binds them
	for i := 1; ; i++ {
		p, err := tryStartRIE(t, tool, bootstrap, env)
		if err == nil {
			return p
		}
		if i == attempts {
			t.Fatal(err)
		}
		t.Logf("retrying: %v", err)
	}
}

func tryStartRIE(t testing.TB, tool, bootstrap string, env []string) (*rieProcess, error) {
	invokeAddr, rapiAddr := freeAddr(t), freeAddr(t)
	// Without --runtime-api-address the emulator takes 127.0.0.1:9001 for the Runtime API,
	// which two emulators cannot share.
	cmd := exec.Command(tool,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", rapiAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	// The emulator passes its whole environment on to the function.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // one group with the function, killed together
		Pdeathsig: syscall.SIGKILL, // even if the test binary dies first
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", tool, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	p := &rieProcess{url: "http://" + invokeAddr, output: out}
	if err := p.awaitReady(exited); err != nil {
		stop()
		return nil, fmt.Errorf("%v; its output:\n%s", err, out)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", rieTool, out)
		}
	})
	return p, nil
}

// awaitReady invokes the function until the emulator answers (whatever the function does),
// the emulator exits, or 20 seconds pass. The first invocation also starts (initialises) the
// function.
func (p *rieProcess) awaitReady(exited <-chan struct{}) error {
	remote, err := NewRemote(RemoteConfig{URL: p.url, FunctionName: "function"})
	if err != nil {
		return err
	}
	defer remote.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := remote.Run(ctx, &Invocation{RequestID: uuid.NewString(), Event: []byte(`{"token":"readiness probe"}`)})
		cancel()
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before answering: %v", rieTool, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within 20s: %v", rieTool, err)
		}
	}
}

// logged reports whether the emulator's output shows text within 5 seconds: output reaches
// the pipe after the answer does.
func (p *rieProcess) logged(text string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.output.String(), text) {
			return true
		}
	}
	return false
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newTestRemote(t testing.TB, cfg RemoteConfig) *Remote {
	t.Helper()
	r, err := NewRemote(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// authorizerEnv is the example authorizer's environment in the tests.
var authorizerEnv = []string{
	"AUTHORIZER_TOKEN=s3cret",
	"AWS_REGION=eu-west-1",
	"AUTHORIZER_ACCOUNT=111122223333",
	"AUTHORIZER_REFRESH_SECONDS=600",
	"AUTHORIZER_DISCONNECT_SECONDS=7200",
}

// TestRemoteWithRIE invokes the example authorizer (a real aws-lambda-go function) under AWS's
// Runtime Interface Emulator through Remote. The subtests share one emulator, which runs one
// invocation at a time, as one Lambda instance does.
func TestRemoteWithRIE(t *testing.T) {
	testtool.Require(t, rieTool) // before building the function
	bootstrap := buildExampleAuthorizer(t)
	rie := startRIE(t, bootstrap, authorizerEnv...)
	remote := newTestRemote(t, RemoteConfig{URL: rie.url, FunctionName: "function"})

	invoke := func(t *testing.T, event string) (events.IoTCoreCustomAuthorizerResponse, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		id := uuid.NewString()
		out, err := remote.Run(ctx, &Invocation{RequestID: id, Event: []byte(event)})
		if err != nil {
			t.Fatalf("invoke: %v", err)
		}
		var resp events.IoTCoreCustomAuthorizerResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer %s: %v", out, err)
		}
		return resp, id
	}

	t.Run("good token", func(t *testing.T) {
		for _, tc := range []struct{ clientID, principal, resourceID string }{
			{"dev-42", "dev42", "dev-42"},
			{"a*b?", "ab", "a${*}b${?}"}, // wildcards in a client ID stay literal
			{"", "device", ""},
		} {
			event := fmt.Sprintf(`{"token":"s3cret","signatureVerified":false,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{"clientId":%q,"username":"u"}},"connectionMetadata":{"id":%q}}`, tc.clientID, uuid.NewString())
			resp, id := invoke(t, event)
			if !resp.IsAuthenticated || resp.PrincipalID != tc.principal || resp.RefreshAfterInSeconds != 600 || resp.DisconnectAfterInSeconds != 7200 {
				t.Errorf("client %q: got %+v; want authenticated, principal %q, refresh 600, disconnect 7200", tc.clientID, resp, tc.principal)
			}
			arn := "arn:aws:iot:eu-west-1:111122223333:"
			want := []events.IAMPolicyStatement{
				{Effect: "Allow", Action: []string{"iot:Connect"}, Resource: []string{arn + "client/" + tc.resourceID}},
				{Effect: "Allow", Action: []string{"iot:Publish", "iot:Receive"}, Resource: []string{arn + "topic/devices/" + tc.resourceID + "/*", arn + "topic/broadcast/*"}},
				{Effect: "Allow", Action: []string{"iot:Subscribe"}, Resource: []string{arn + "topicfilter/devices/" + tc.resourceID + "/*", arn + "topicfilter/broadcast/*"}},
			}
			if len(resp.PolicyDocuments) != 1 || !policyEqual(resp.PolicyDocuments[0].Statement, want) {
				got, _ := json.Marshal(resp.PolicyDocuments)
				t.Errorf("client %q: policies %s", tc.clientID, got)
			}
			// The function logged exactly the event sent, under the request ID we chose.
			if !rie.logged("event: " + event + "\n") {
				t.Errorf("the function did not log the event sent, %s", event)
			}
			if !rie.logged("START RequestId: " + id + " ") {
				t.Errorf("no START line with request ID %s: X-Amzn-RequestId was not honoured", id)
			}
		}
	})

	t.Run("bad token", func(t *testing.T) {
		resp, _ := invoke(t, `{"token":"wrong","protocolData":{"mqtt":{"clientId":"dev-42"}}}`)
		if resp.IsAuthenticated || len(resp.PolicyDocuments) != 0 {
			t.Errorf("got %+v; want refused without policies", resp)
		}
	})

	t.Run("function error", func(t *testing.T) {
		// The event does not decode, so the handler returns an error. The emulator answers 200
		// with the error payload and no X-Amz-Function-Error; Remote still reports it.
		_, err := remote.Run(context.Background(), &Invocation{RequestID: uuid.NewString(), Event: []byte(`[1,2]`)})
		fe, ok := errors.AsType[*FunctionError](err)
		if !ok || fe.Type != "wrapError" || !strings.Contains(fe.Message, "decoding the event") {
			t.Errorf("got %v; want the function's error", err)
		}
	})

	t.Run("unknown function name", func(t *testing.T) {
		other := newTestRemote(t, RemoteConfig{URL: rie.url, FunctionName: "authorizer"})
		_, err := other.Run(context.Background(), &Invocation{Event: []byte(`{}`)})
		if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), `"authorizer"`) || !strings.Contains(err.Error(), rie.url) {
			t.Errorf("got %v; want a 404 naming the function and URL", err)
		}
	})

	t.Run("through a Function", func(t *testing.T) {
		f, logs := newTestFunction(t, remote, 0)
		out, err := f.Invoke(context.Background(), []byte(`{"token":"s3cret","protocolData":{"mqtt":{"clientId":"d1"}}}`))
		if err != nil || !bytes.Contains(out, []byte(`"isAuthenticated":true`)) {
			t.Fatalf("got %s, %v", out, err)
		}
		texts := logs.texts()
		if len(texts) != 3 || !strings.HasPrefix(texts[0], "START ") || !strings.HasPrefix(texts[2], "REPORT ") {
			t.Errorf("log lines %q; want START, END, REPORT", texts)
		}
		if m := f.Metrics(); m.Invocations != 1 || m.Errors != 0 {
			t.Errorf("metrics %+v", m)
		}
	})

	t.Run("runtime that exits", func(t *testing.T) {
		// A bad setting makes the function exit during init: the emulator answers an empty 502.
		failing := startRIE(t, bootstrap, "AUTHORIZER_REFRESH_SECONDS=soon")
		remote := newTestRemote(t, RemoteConfig{URL: failing.url, FunctionName: "function"})
		_, err := remote.Run(context.Background(), &Invocation{RequestID: uuid.NewString(), Event: []byte(`{"token":"s3cret"}`)})
		if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "runtime failed or exited") {
			t.Errorf("got %v; want an error saying the runtime failed", err)
		}
		if !failing.logged(`AUTHORIZER_REFRESH_SECONDS="soon"`) {
			t.Errorf("the function did not report its bad setting:\n%s", failing.output)
		}
	})
}

// policyEqual compares statements field by field.
func policyEqual(a, b []events.IAMPolicyStatement) bool {
	return slices.EqualFunc(a, b, func(x, y events.IAMPolicyStatement) bool {
		return x.Effect == y.Effect && slices.Equal(x.Action, y.Action) && slices.Equal(x.Resource, y.Resource)
	})
}

// fakeInvokeAPI is an httptest server that answers Invoke requests for function "fn" with
// answer, after checking the request is one Remote should send.
func fakeInvokeAPI(t *testing.T, answer http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/fn/invocations" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("X-Amz-Invocation-Type"); got != "RequestResponse" {
			t.Errorf("X-Amz-Invocation-Type %q", got)
		}
		if got := r.Header.Get("X-Amz-Log-Type"); got != "Tail" {
			t.Errorf("X-Amz-Log-Type %q", got)
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// lambdaError answers as Lambda does for a failed Invoke: the exception's name in
// X-Amzn-ErrorType and a JSON body.
func lambdaError(status int, name, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", name)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"Type":"User","message":%q}`, message)
	}
}

func TestRemoteAnswers(t *testing.T) {
	t.Parallel()
	tail := "START RequestId: r1 Version: $LATEST\nhello from the function\nsecond line\nEND RequestId: r1\n" +
		"REPORT RequestId: r1\tDuration: 1.20 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 55.30 ms\t\n"
	srv, _ := fakeInvokeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"token":"t"}` {
			t.Errorf("payload %s", body)
		}
		if got := r.Header.Get("X-Amzn-RequestId"); got != "req-1" {
			t.Errorf("X-Amzn-RequestId %q; want the invocation's request ID", got)
		}
		w.Header().Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(tail)))
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		_, _ = w.Write([]byte(`{"isAuthenticated":true}`))
	})
	remote := newTestRemote(t, RemoteConfig{URL: srv.URL + "/", FunctionName: "fn"})
	var lines []string
	inv := &Invocation{RequestID: "req-1", Event: []byte(`{"token":"t"}`), Log: func(s string) { lines = append(lines, s) }}
	out, err := remote.Run(context.Background(), inv)
	if err != nil || string(out) != `{"isAuthenticated":true}` {
		t.Fatalf("got %s, %v", out, err)
	}
	if !slices.Equal(lines, []string{"hello from the function", "second line"}) {
		t.Errorf("log lines %q; want the function's own lines", lines)
	}
	if !inv.ColdStart || inv.MaxMemoryUsedMB != 21 {
		t.Errorf("cold start %v, max memory %d MB; want true and 21 from the REPORT line", inv.ColdStart, inv.MaxMemoryUsedMB)
	}
}

func TestRemoteFaults(t *testing.T) {
	t.Parallel()
	closed := freeAddr(t) // nothing listens there any more

	for _, tc := range []struct {
		name    string
		answer  http.HandlerFunc // nil: no server, connect to closed
		timeout time.Duration    // the invocation's; 10s when 0
		check   func(t *testing.T, err error, url string, calls int32)
	}{
		{
			name: "unhandled function error",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
				_, _ = w.Write([]byte(`{"errorMessage":"boom","errorType":"Runtime.ExitError"}`))
			},
			check: func(t *testing.T, err error, _ string, _ int32) {
				fe, ok := errors.AsType[*FunctionError](err)
				if !ok || fe.Message != "boom" || fe.Type != "Runtime.ExitError" {
					t.Errorf("got %v; want *FunctionError boom (Runtime.ExitError)", err)
				}
			},
		},
		{
			name: "handled function error without JSON",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Amz-Function-Error", "Handled")
				_, _ = w.Write([]byte(`not json`))
			},
			check: func(t *testing.T, err error, _ string, _ int32) {
				fe, ok := errors.AsType[*FunctionError](err)
				if !ok || fe.Message != "not json" {
					t.Errorf("got %v; want *FunctionError with the body as message", err)
				}
			},
		},
		{
			name:   "throttled",
			answer: lambdaError(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded."),
			check: func(t *testing.T, err error, url string, calls int32) {
				if !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), url) {
					t.Errorf("got %v; want ErrThrottled naming %s", err, url)
				}
				if calls != 3 {
					t.Errorf("%d attempts; want 3 (the SDK's standard retryer)", calls)
				}
			},
		},
		{
			name:   "function not found",
			answer: lambdaError(http.StatusNotFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:fn"),
			check: func(t *testing.T, err error, url string, calls int32) {
				if err == nil || !strings.Contains(err.Error(), "no such function") || !strings.Contains(err.Error(), `"fn"`) || !strings.Contains(err.Error(), url) {
					t.Errorf("got %v; want a not-found error naming fn and %s", err, url)
				}
				if calls != 1 {
					t.Errorf("%d attempts; want 1", calls)
				}
			},
		},
		{
			name: "connection refused",
			check: func(t *testing.T, err error, url string, _ int32) {
				if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), url) {
					t.Errorf("got %v; want connection refused naming %s", err, url)
				}
			},
		},
		{
			name:    "deadline",
			timeout: 200 * time.Millisecond,
			answer: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leave
				select {
				case <-r.Context().Done():
				case <-time.After(30 * time.Second): // long after Run must have returned
				}
			},
			check: func(t *testing.T, err error, url string, _ int32) {
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), url) {
					t.Errorf("got %v; want context.DeadlineExceeded naming %s", err, url)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, calls := "http://"+closed, &atomic.Int32{}
			if tc.answer != nil {
				var srv *httptest.Server
				srv, calls = fakeInvokeAPI(t, tc.answer)
				url = srv.URL
			}
			remote := newTestRemote(t, RemoteConfig{URL: url, FunctionName: "fn"})
			// On a throttle the SDK backs off up to 1s, then up to 2s, between attempts.
			timeout := cmp.Or(tc.timeout, 10*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			_, err := remote.Run(ctx, &Invocation{RequestID: uuid.NewString(), Event: []byte(`{}`)})
			// Run returns at its deadline, long before an answer that does not come: the slack
			// is for a busy machine.
			if took := time.Since(start); took > timeout+5*time.Second {
				t.Errorf("Run returned after %v; want before the %v deadline", took, timeout)
			}
			tc.check(t, err, url, calls.Load())
		})
	}
}

func TestNewRemoteRefusesBadConfigs(t *testing.T) {
	for name, cfg := range map[string]RemoteConfig{
		"no URL":        {FunctionName: "function"},
		"not http":      {URL: "ftp://127.0.0.1:0", FunctionName: "function"},
		"no host":       {URL: "http://", FunctionName: "function"},
		"no name":       {URL: "http://127.0.0.1:0"},
		"unparsable":    {URL: "http://[::1", FunctionName: "function"},
		"relative path": {URL: "127.0.0.1:0", FunctionName: "function"},
	} {
		if _, err := NewRemote(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
