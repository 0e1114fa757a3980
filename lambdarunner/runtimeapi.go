package lambdarunner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The Lambda Runtime API, version 2018-06-01: the HTTP API a function's runtime (aws-lambda-go's
// lambda.Start, or any language's runtime interface client) polls for invocations on
// AWS_LAMBDA_RUNTIME_API. One rapiServer serves one instance of a function, as each Lambda
// execution environment has its own.

// Runtime API headers.
const (
	hdrRequestID   = "Lambda-Runtime-Aws-Request-Id"       // AWS: the invocation's request ID
	hdrDeadlineMs  = "Lambda-Runtime-Deadline-Ms"          // AWS: the deadline, epoch milliseconds
	hdrFunctionARN = "Lambda-Runtime-Invoked-Function-Arn" // AWS: the invoked function's ARN
	hdrTraceID     = "Lambda-Runtime-Trace-Id"             // AWS: the X-Ray trace header
	hdrErrorType   = "Lambda-Runtime-Function-Error-Type"  // AWS: header of /error and /init/error, trailer of /response
	hdrErrorBody   = "Lambda-Runtime-Function-Error-Body"  // AWS: trailer of /response: base64 of the error JSON
)

// rapiEvent is an invocation as GET /runtime/invocation/next hands it to the runtime.
type rapiEvent struct {
	RequestID   string
	Payload     []byte
	Deadline    time.Time
	FunctionARN string
	TraceID     string
}

// errRapiInvalidRequestID is returned by a rapiBackend when a request ID is not the one of the
// invocation the instance is running (unknown, or already answered).
var errRapiInvalidRequestID = errors.New("invalid request ID")

// errRapiStopping is returned by rapiBackend.next when the instance is being torn down.
var errRapiStopping = errors.New("instance is stopping")

// rapiStateError is returned by a rapiBackend when a call is not allowed in the runtime's
// current state (for example /next while an invocation is still unanswered).
type rapiStateError struct{ From, To string }

func (e *rapiStateError) Error() string {
	// AWS: Lambda's wording for a refused state transition
	return fmt.Sprintf("State transition from %s to %s failed for runtime. Error: State transition is not allowed", e.From, e.To)
}

// rapiBackend is what a rapiServer serves: one instance of a function.
type rapiBackend interface {
	// next blocks until an invocation is assigned to the instance, ctx ends, or the instance
	// stops.
	next(ctx context.Context) (rapiEvent, error)
	// expects reports whether id is the request ID of the invocation the runtime is running.
	expects(id string) bool
	// complete ends the invocation id with the function's answer, or its error when fe is not
	// nil.
	complete(id string, out []byte, fe *FunctionError) error
	// initError records that the runtime failed to initialise.
	initError(fe *FunctionError) error
	// kill stops the instance (after an init error, as Lambda resets the environment).
	kill()
}

// rapiServer serves the Runtime API to one instance on 127.0.0.1.
type rapiServer struct {
	b      rapiBackend
	ln     net.Listener
	srv    *http.Server
	conns  sync.WaitGroup // open connections
	served chan struct{}  // closed when Serve returns
}

// newRapiServer listens on a free loopback port and serves b until close.
func newRapiServer(b rapiBackend, errorLog *log.Logger) (*rapiServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdarunner: runtime API: %w", err)
	}
	s := &rapiServer{b: b, ln: ln, served: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.handleInitError)
	// No timeouts: /next long-polls for as long as the instance waits for work, and a runtime
	// keeps its connection from one invocation to the next.
	s.srv = &http.Server{Handler: mux, ErrorLog: errorLog, ConnState: s.trackConn}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after close
	}()
	return s, nil
}

// addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (s *rapiServer) addr() string { return s.ln.Addr().String() }

// close stops the server and waits until every connection is closed. The backend must have
// released its pending /next calls first.
func (s *rapiServer) close() {
	_ = s.srv.Close()
	<-s.served
	s.conns.Wait()
}

func (s *rapiServer) trackConn(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.conns.Done()
	}
}

func (s *rapiServer) handleNext(w http.ResponseWriter, r *http.Request) {
	ev, err := s.b.next(r.Context())
	if err != nil {
		var se *rapiStateError
		switch {
		case errors.As(err, &se):
			writeRapiError(w, http.StatusForbidden, "InvalidStateTransition", se.Error()) // AWS
		case errors.Is(err, errRapiStopping):
			writeRapiError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		}
		return // the runtime has gone away
	}
	h := w.Header()
	h.Set(hdrRequestID, ev.RequestID)
	h.Set(hdrDeadlineMs, strconv.FormatInt(ev.Deadline.UnixMilli(), 10))
	if ev.FunctionARN != "" {
		h.Set(hdrFunctionARN, ev.FunctionARN)
	}
	h.Set(hdrTraceID, ev.TraceID)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(ev.Payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ev.Payload)
}

func (s *rapiServer) handleResponse(w http.ResponseWriter, r *http.Request) {
	id, body, ok := s.readPayload(w, r)
	if !ok {
		return
	}
	var fe *FunctionError
	// AWS: a streamed response that ends with the error trailers is an error, not an answer.
	if t := r.Trailer.Get(hdrErrorType); t != "" {
		fe = parseTrailerError(t, r.Trailer.Get(hdrErrorBody))
		body = nil
	}
	s.finish(w, id, body, fe)
}

func (s *rapiServer) handleError(w http.ResponseWriter, r *http.Request) {
	id, body, ok := s.readPayload(w, r)
	if !ok {
		return
	}
	s.finish(w, id, nil, parseErrorPayload(body, r.Header.Get(hdrErrorType)))
}

func (s *rapiServer) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes+1))
	if err != nil {
		return
	}
	if err := s.b.initError(parseErrorPayload(body, r.Header.Get(hdrErrorType))); err != nil {
		writeRapiError(w, http.StatusForbidden, "InvalidStateTransition", err.Error()) // AWS
		return
	}
	writeAccepted(w)
	_ = http.NewResponseController(w).Flush()
	s.b.kill() // AWS: Lambda discards an environment whose init failed
}

// finish completes the invocation id and answers the runtime.
func (s *rapiServer) finish(w http.ResponseWriter, id string, out []byte, fe *FunctionError) {
	if err := s.b.complete(id, out, fe); err != nil {
		writeInvalidRequestID(w) // answered twice, or cut by the deadline meanwhile
		return
	}
	writeAccepted(w)
}

// readPayload checks the path's request ID, then reads a response or error body of at most
// MaxResponseBytes. A larger body fails the invocation with Function.ResponseSizeTooLarge and
// is refused with 413; the rest of it is never read. ok is false when the request has been
// answered.
func (s *rapiServer) readPayload(w http.ResponseWriter, r *http.Request) (id string, body []byte, ok bool) {
	id = r.PathValue("id")
	if !s.b.expects(id) {
		writeInvalidRequestID(w)
		return "", nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes+1))
	if err != nil {
		// AWS: a body cut short fails the invocation as Runtime.TruncatedResponse.
		if s.b.complete(id, nil, &FunctionError{Type: "Runtime.TruncatedResponse", Message: "HTTP request detected as truncated"}) == nil {
			writeRapiError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		}
		return "", nil, false
	}
	if len(body) > MaxResponseBytes {
		// AWS: Lambda refuses an answer over the synchronous payload limit: 413 to the runtime,
		// Function.ResponseSizeTooLarge to the caller.
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)
		if s.b.complete(id, nil, &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: msg}) == nil {
			writeRapiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes))
		}
		return "", nil, false
	}
	return id, body, true
}

// parseErrorPayload reads an /error or /init/error body, {"errorMessage","errorType",
// "stackTrace"}. The errorType of the body wins over the header, as the caller of Lambda receives
// the body. A body that is not such JSON is kept whole as the message.
func parseErrorPayload(body []byte, headerType string) *FunctionError {
	var p struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	fe := &FunctionError{Type: headerType}
	if err := json.Unmarshal(body, &p); err == nil && (p.Message != "" || p.Type != "") {
		fe.Message = p.Message
		if p.Type != "" {
			fe.Type = p.Type
		}
	} else {
		fe.Message = string(body)
	}
	if fe.Type == "" {
		fe.Type = "Runtime.Unknown" // AWS: the type Lambda reports when the runtime gives none
	}
	return fe
}

// parseTrailerError decodes the Lambda-Runtime-Function-Error-Body trailer (base64 of the
// error JSON); a trailer that does not decode leaves only the type.
func parseTrailerError(errType, b64 string) *FunctionError {
	body, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(body) == 0 {
		return &FunctionError{Type: errType}
	}
	return parseErrorPayload(body, errType)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`) // AWS: Lambda's 202 body
}

func writeInvalidRequestID(w http.ResponseWriter) {
	writeRapiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID") // AWS
}

// writeRapiError writes the Runtime API's error body, {"errorMessage","errorType"}.
func writeRapiError(w http.ResponseWriter, status int, errType, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, errType})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
