package lambdarunner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBackend is an instance as the Runtime API server sees it, running invocation id.
type fakeBackend struct {
	id      string
	ev      rapiEvent
	nextErr error
	initRet error

	mu        sync.Mutex
	completed []fakeCompletion
	initErr   *FunctionError
	killed    bool
}

type fakeCompletion struct {
	id  string
	out []byte
	fe  *FunctionError
}

func (b *fakeBackend) next(context.Context) (rapiEvent, error) { return b.ev, b.nextErr }
func (b *fakeBackend) expects(id string) bool                  { return id == b.id }

func (b *fakeBackend) complete(id string, out []byte, fe *FunctionError) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id != b.id {
		return errRapiInvalidRequestID
	}
	b.completed = append(b.completed, fakeCompletion{id, out, fe})
	return nil
}

func (b *fakeBackend) initError(fe *FunctionError) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.initRet == nil {
		b.initErr = fe
	}
	return b.initRet
}

func (b *fakeBackend) kill() {
	b.mu.Lock()
	b.killed = true
	b.mu.Unlock()
}

func (b *fakeBackend) completion(t *testing.T) fakeCompletion {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.completed) != 1 {
		t.Fatalf("%d completions; want 1", len(b.completed))
	}
	return b.completed[0]
}

// newTestRapi serves b and returns the base URL and a client; the test's cleanup stops both
// and checks that no goroutine is left.
func newTestRapi(t *testing.T, b *fakeBackend) (string, *http.Client) {
	t.Helper()
	goroutines := runtime.NumGoroutine()
	s, err := newRapiServer(b, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		s.close()
		waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
	})
	return "http://" + s.addr() + "/2018-06-01/runtime", &http.Client{Transport: tr}
}

// wantRapiError checks a Runtime API error answer.
func wantRapiError(t *testing.T, resp *http.Response, status int, errType string) {
	t.Helper()
	defer resp.Body.Close()
	var body struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("error body: %v", err)
	}
	if resp.StatusCode != status || body.Type != errType || body.Message == "" {
		t.Errorf("got %d %+v; want %d with errorType %s", resp.StatusCode, body, status, errType)
	}
}

func wantAccepted(t *testing.T, resp *http.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted || string(b) != `{"status":"OK"}` {
		t.Fatalf("got %d %s; want 202", resp.StatusCode, b)
	}
}

func TestRuntimeAPINextHandsOutTheInvocation(t *testing.T) {
	deadline := time.UnixMilli(1_800_000_000_123)
	b := &fakeBackend{ev: rapiEvent{RequestID: "r1", Payload: []byte(`{"token":"t"}`), Deadline: deadline,
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:auth", TraceID: "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"}}
	url, c := newTestRapi(t, b)
	resp, err := c.Get(url + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for k, v := range map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       "r1",
		"Lambda-Runtime-Deadline-Ms":          "1800000000123",
		"Lambda-Runtime-Invoked-Function-Arn": b.ev.FunctionARN,
		"Lambda-Runtime-Trace-Id":             b.ev.TraceID,
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q; want %q", k, got, v)
		}
	}
	if resp.StatusCode != http.StatusOK || string(body) != `{"token":"t"}` {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

func TestRuntimeAPINextBeforeAnswering(t *testing.T) {
	url, c := newTestRapi(t, &fakeBackend{nextErr: &rapiStateError{From: "Running", To: "Ready"}})
	resp, err := c.Get(url + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	wantRapiError(t, resp, http.StatusForbidden, "InvalidStateTransition")
}

func TestRuntimeAPIResponse(t *testing.T) {
	b := &fakeBackend{id: "r1"}
	url, c := newTestRapi(t, b)
	resp, err := c.Post(url+"/invocation/r1/response", "application/json", strings.NewReader(`{"isAuthenticated":true}`))
	wantAccepted(t, resp, err)
	if got := b.completion(t); string(got.out) != `{"isAuthenticated":true}` || got.fe != nil {
		t.Errorf("completed with %q, %v", got.out, got.fe)
	}
}

// onlyReader hides a reader's length, so that the client streams it chunked.
type onlyReader struct{ io.Reader }

func TestRuntimeAPIResponseEndingWithErrorTrailers(t *testing.T) {
	b := &fakeBackend{id: "r1"}
	url, c := newTestRapi(t, b)
	// aws-lambda-go does this when the reader a handler returned fails half way.
	req, err := http.NewRequest(http.MethodPost, url+"/invocation/r1/response", onlyReader{strings.NewReader("partial answ")})
	if err != nil {
		t.Fatal(err)
	}
	req.Trailer = http.Header{
		"Lambda-Runtime-Function-Error-Type": {"ReadError"},
		"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"disk on fire","errorType":"ReadError"}`))},
	}
	resp, err := c.Do(req)
	wantAccepted(t, resp, err)
	got := b.completion(t)
	if got.out != nil || got.fe == nil || *got.fe != (FunctionError{Type: "ReadError", Message: "disk on fire"}) {
		t.Errorf("completed with %q, %+v; want the trailers' error", got.out, got.fe)
	}
}

func TestRuntimeAPIErrorPayloads(t *testing.T) {
	for name, tc := range map[string]struct {
		header, body string
		want         FunctionError
	}{
		"aws-lambda-go":       {"", `{"errorMessage":"denied","errorType":"DeniedError","stackTrace":[]}`, FunctionError{Type: "DeniedError", Message: "denied"}},
		"body type wins":      {"Runtime.Unknown", `{"errorMessage":"m","errorType":"KeyError"}`, FunctionError{Type: "KeyError", Message: "m"}},
		"type in header only": {"Function.Oops", `{"errorMessage":"m"}`, FunctionError{Type: "Function.Oops", Message: "m"}},
		"not JSON":            {"", `segfault`, FunctionError{Type: "Runtime.Unknown", Message: "segfault"}},
	} {
		t.Run(name, func(t *testing.T) {
			b := &fakeBackend{id: "r1"}
			url, c := newTestRapi(t, b)
			req, _ := http.NewRequest(http.MethodPost, url+"/invocation/r1/error", strings.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set("Lambda-Runtime-Function-Error-Type", tc.header)
			}
			resp, err := c.Do(req)
			wantAccepted(t, resp, err)
			if got := b.completion(t); got.fe == nil || *got.fe != tc.want {
				t.Errorf("got %+v; want %+v", got.fe, tc.want)
			}
		})
	}
}

func TestRuntimeAPIUnknownRequestID(t *testing.T) {
	b := &fakeBackend{id: "r1"}
	url, c := newTestRapi(t, b)
	for _, path := range []string{"/invocation/r2/response", "/invocation/r2/error"} {
		resp, err := c.Post(url+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		wantRapiError(t, resp, http.StatusBadRequest, "InvalidRequestID")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.completed) != 0 {
		t.Errorf("completions %+v", b.completed)
	}
}

// countingReader produces n bytes of JSON-ish filler and counts what was read.
type countingReader struct {
	n    int64
	read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	left := r.n - r.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	for i := range p {
		p[i] = 'a'
	}
	r.read.Add(int64(len(p)))
	return len(p), nil
}

func TestRuntimeAPIRefusesAnswersOverSixMB(t *testing.T) {
	b := &fakeBackend{id: "r1"}
	url, c := newTestRapi(t, b)
	body := &countingReader{n: 1 << 30}
	resp, err := c.Post(url+"/invocation/r1/response", "application/json", body)
	if err == nil {
		wantRapiError(t, resp, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	} // else the server hung up while the client was still sending, as it may
	if got := b.completion(t); got.fe == nil || got.fe.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("completed with %+v", got.fe)
	}
	if n := body.read.Load(); n > 32<<20 {
		t.Errorf("the server let the client send %d bytes", n)
	}
}

func TestRuntimeAPIInitError(t *testing.T) {
	b := &fakeBackend{}
	url, c := newTestRapi(t, b)
	req, _ := http.NewRequest(http.MethodPost, url+"/init/error", strings.NewReader(`{"errorMessage":"no module named x","errorType":"Runtime.ImportModuleError"}`))
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")
	resp, err := c.Do(req)
	wantAccepted(t, resp, err)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.initErr == nil || *b.initErr != (FunctionError{Type: "Runtime.ImportModuleError", Message: "no module named x"}) || !b.killed {
		t.Errorf("init error %+v, killed %v", b.initErr, b.killed)
	}
}

func TestRuntimeAPIInitErrorAfterInit(t *testing.T) {
	b := &fakeBackend{initRet: &rapiStateError{From: "Ready", To: "InitError"}}
	url, c := newTestRapi(t, b)
	resp, err := c.Post(url+"/init/error", "application/json", strings.NewReader(`{"errorMessage":"late"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantRapiError(t, resp, http.StatusForbidden, "InvalidStateTransition")
	if b.killed {
		t.Error("killed")
	}
}

func TestRuntimeAPIStateErrorWording(t *testing.T) {
	var err error = &rapiStateError{From: "Running", To: "Ready"}
	if want := "State transition from Running to Ready failed for runtime. Error: State transition is not allowed"; err.Error() != want {
		t.Errorf("%q", err)
	}
}
