// Package controlplane serves the subset of the AWS IoT control plane (REST-JSON, service
// iot, version 2015-05-28) and of the Lambda API (service lambda, version 2015-03-31) that
// custom authentication needs, so that the aws CLI (--endpoint-url) and aws-sdk-go-v2
// (BaseEndpoint) can manage a running emulator:
//
//	CreateAuthorizer             POST   /authorizer/{authorizerName}
//	DescribeAuthorizer           GET    /authorizer/{authorizerName}
//	UpdateAuthorizer             PUT    /authorizer/{authorizerName}
//	DeleteAuthorizer             DELETE /authorizer/{authorizerName}
//	TestInvokeAuthorizer         POST   /authorizer/{authorizerName}/test
//	ListAuthorizers              GET    /authorizers/
//	SetDefaultAuthorizer         POST   /default-authorizer
//	DescribeDefaultAuthorizer    GET    /default-authorizer
//	ClearDefaultAuthorizer       DELETE /default-authorizer
//	DescribeEndpoint             GET    /endpoint
//	SetV2LoggingOptions          POST   /v2LoggingOptions
//	GetV2LoggingOptions          GET    /v2LoggingOptions
//	SetV2LoggingLevel            POST   /v2LoggingLevel
//	ListV2LoggingLevels          GET    /v2LoggingLevel
//	DeleteV2LoggingLevel         DELETE /v2LoggingLevel
//	AddPermission (Lambda)       POST   /2015-03-31/functions/{name}/policy
//	GetPolicy (Lambda)           GET    /2015-03-31/functions/{name}/policy
//	RemovePermission (Lambda)    DELETE /2015-03-31/functions/{name}/policy/{statementId}
//
// A Backend that also implements X509Backend gets the certificate, CA certificate, policy and
// thing operations listed there. When the Backend also implements CloudWatch, the same
// listener serves CloudWatch Logs and CloudWatch's Lambda metrics (see CloudWatch).
//
// Requests are not authenticated: the SigV4 Authorization header is accepted whatever it
// holds, so any credentials (even dummy ones) work. Serve it on loopback only.
//
// Errors are sent as AWS's REST-JSON protocol sends them: a JSON body {"message": ...}, the
// exception name in the x-amzn-ErrorType header and the exception's HTTP status, which the
// SDKs decode into typed errors.
package controlplane

import (
	"errors"
	"net/http"
	"sync"

	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/lambdarunner"
)

// Backend is the emulator the control plane changes. Its errors are classified with errors.Is
// against ErrNotFound, ErrAlreadyExists, ErrConflict and ErrInvalid; anything else is an
// internal failure.
type Backend interface {
	// Registry resolves authorizers, the default authorizer and functions, as devices see
	// them; TestInvokeAuthorizer runs the custom authentication pipeline over it.
	customauth.Registry
	// Authorizers returns every authorizer.
	Authorizers() []*customauth.Authorizer
	// AuthorizerARN returns the ARN of the authorizer called name.
	AuthorizerARN(name string) string
	// CreateAuthorizer adds an authorizer whose keys are PEM text.
	CreateAuthorizer(a customauth.Authorizer) error
	// UpdateAuthorizer changes the fields of an authorizer that u sets.
	UpdateAuthorizer(name string, u AuthorizerUpdate) error
	// DeleteAuthorizer removes an INACTIVE authorizer.
	DeleteAuthorizer(name string) error
	// SetDefaultAuthorizer sets the default authorizer; "" clears it.
	SetDefaultAuthorizer(name string) error
	// Endpoints returns the ATS data endpoint and the legacy one.
	Endpoints() (ats, legacy string)
	// Statements returns a function's ARN and its resource-based policy.
	Statements(function string) (functionARN string, sts []lambdarunner.Statement, err error)
	// SetStatements replaces a function's resource-based policy.
	SetStatements(function string, sts []lambdarunner.Statement) error
	// Logging holds AWS IoT's v2 logging levels.
	Logging
	// TestInvoked records the decision trace of a TestInvokeAuthorizer call.
	TestInvoked(traceID string, steps []customauth.Step)
}

// AuthorizerUpdate is the body of UpdateAuthorizer: each field that is set replaces the
// authorizer's.
type AuthorizerUpdate struct {
	FunctionARN            string
	TokenKeyName           string
	TokenSigningPublicKeys map[string]string // PEM text; nil leaves the keys
	Status                 customauth.Status
	EnableCachingForHTTP   *bool
}

// Exception is an AWS error: its name (the x-amzn-ErrorType header) and HTTP status.
type Exception struct {
	Name   string
	Status int
}

// Error implements error.
func (e *Exception) Error() string { return e.Name }

// The exceptions a Backend's errors map to (wrap them with fmt.Errorf("%w: ...")).
var (
	// ErrInvalid: the request breaks a rule. AWS: InvalidRequestException, 400.
	ErrInvalid = &Exception{"InvalidRequestException", http.StatusBadRequest}
	// ErrNotFound: no such authorizer or function. AWS: ResourceNotFoundException, 404.
	ErrNotFound = &Exception{"ResourceNotFoundException", http.StatusNotFound}
	// ErrAlreadyExists: the name is taken. AWS: ResourceAlreadyExistsException, 409.
	ErrAlreadyExists = &Exception{"ResourceAlreadyExistsException", http.StatusConflict}
	// ErrConflict: the authorizer is ACTIVE and cannot be deleted. AWS:
	// DeleteConflictException, 409.
	ErrConflict = &Exception{"DeleteConflictException", http.StatusConflict}
)

// More exceptions the handler answers with itself.
var (
	// AWS: TestInvokeAuthorizer's answer to a function that fails or answers badly.
	errInvalidResponse = &Exception{"InvalidResponseException", http.StatusBadRequest}
	// AWS: Lambda's AddPermission with a statement ID already used.
	errLambdaConflict = &Exception{"ResourceConflictException", http.StatusConflict}
	// AWS: Lambda's answer to a bad parameter.
	errLambdaInvalid = &Exception{"InvalidParameterValueException", http.StatusBadRequest}
	// AWS: an unexpected failure. InternalFailureException, 500.
	errInternal = &Exception{"InternalFailureException", http.StatusInternalServerError}
	// An operation this emulator does not serve.
	errUnknownOperation = &Exception{"UnknownOperationException", http.StatusNotFound}
)

// Handler serves the control plane over a Backend.
type Handler struct {
	backend Backend
	mux     *http.ServeMux
	cw      *cloudWatch // nil when the backend does not implement CloudWatch
	// policyMu serialises the read-modify-write of AddPermission and RemovePermission.
	policyMu sync.Mutex
}

// New returns a Handler that changes b.
func New(b Backend) *Handler {
	h := &Handler{backend: b, mux: http.NewServeMux(), cw: newCloudWatch(b)}
	h.mux.HandleFunc("POST /authorizer/{authorizerName}", h.createAuthorizer)
	h.mux.HandleFunc("GET /authorizer/{authorizerName}", h.describeAuthorizer)
	h.mux.HandleFunc("PUT /authorizer/{authorizerName}", h.updateAuthorizer)
	h.mux.HandleFunc("DELETE /authorizer/{authorizerName}", h.deleteAuthorizer)
	h.mux.HandleFunc("POST /authorizer/{authorizerName}/test", h.testInvokeAuthorizer)
	h.mux.HandleFunc("GET /authorizers/{$}", h.listAuthorizers)
	h.mux.HandleFunc("POST /default-authorizer", h.setDefaultAuthorizer)
	h.mux.HandleFunc("GET /default-authorizer", h.describeDefaultAuthorizer)
	h.mux.HandleFunc("DELETE /default-authorizer", h.clearDefaultAuthorizer)
	h.mux.HandleFunc("GET /endpoint", h.describeEndpoint)
	h.mux.HandleFunc("POST /v2LoggingOptions", h.setV2LoggingOptions)
	h.mux.HandleFunc("GET /v2LoggingOptions", h.getV2LoggingOptions)
	h.mux.HandleFunc("POST /v2LoggingLevel", h.setV2LoggingLevel)
	h.mux.HandleFunc("GET /v2LoggingLevel", h.listV2LoggingLevels)
	h.mux.HandleFunc("DELETE /v2LoggingLevel", h.deleteV2LoggingLevel)
	h.mux.HandleFunc("POST /2015-03-31/functions/{name}/policy", h.addPermission)
	h.mux.HandleFunc("GET /2015-03-31/functions/{name}/policy", h.getPolicy)
	h.mux.HandleFunc("DELETE /2015-03-31/functions/{name}/policy/{statementId}", h.removePermission)
	if x, ok := b.(X509Backend); ok {
		h.routeX509(x)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errUnknownOperation, r.Method+" "+r.URL.Path+" is not an operation this emulator serves")
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if serve := h.cw.route(r); serve != nil {
		serve(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// classify returns the exception of a Backend error and its message.
func classify(err error) (*Exception, string) {
	var ex *Exception
	if !errors.As(err, &ex) {
		return errInternal, err.Error()
	}
	msg := err.Error()
	if prefix := ex.Name + ": "; len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	return ex, msg
}
