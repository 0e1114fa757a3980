package customauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/lambdarunner"
)

// DefaultTimeout is how long the authorizer function may run. AWS: 5 seconds.
const DefaultTimeout = 5 * time.Second

// The names of the steps of the decision trace, in the order they are taken.
const (
	// StepCredentials: the MQTT username could not be read.
	StepCredentials = "credentials"
	// StepAuthorizer: which authorizer was chosen and why, or why none.
	StepAuthorizer = "authorizer"
	// StepToken: where the token was found, or why it is missing.
	StepToken = "token"
	// StepSignature: which key verified the signature, or why none did.
	StepSignature = "signature"
	// StepEvent: the exact event sent (Data["event"], a json.RawMessage).
	StepEvent = "event"
	// StepInvoke: the function's raw answer (Data["response"]) or why there is none.
	StepInvoke = "invoke"
	// StepResponse: the validation of the answer.
	StepResponse = "response"
)

// maxTracedResponse is how much of a function's answer a Step keeps.
const maxTracedResponse = 64 << 10

// Request is what the transport knows about one authentication attempt.
type Request struct {
	// ConnectionID goes to connectionMetadata.id; the same for a connection's refreshes.
	// Authenticate generates one when it is empty.
	ConnectionID string
	// Protocols is ProtocolsMQTT, ProtocolsWSS or ProtocolsHTTPS for a device; for
	// TestInvokeAuthorizer, the protocols of the contexts the call gave (possibly none).
	Protocols []string
	// ServerName is the TLS SNI; empty when none was sent.
	ServerName string

	// HasUsername says whether the MQTT CONNECT carried a username.
	HasUsername bool
	// Username is the raw MQTT CONNECT username.
	Username string
	// HasPassword says whether the MQTT CONNECT carried a password.
	HasPassword bool
	// Password is the MQTT CONNECT password.
	Password []byte
	// ClientID is the MQTT client ID; empty when not sent.
	ClientID string

	// Headers are the HTTP request's headers (WSS upgrade or HTTPS publish); nil when not HTTP.
	Headers map[string]string
	// QueryString is the raw HTTP query string without '?'.
	QueryString string

	// Direct holds credentials given beside the protocol data, as TestInvokeAuthorizer gives
	// the authorizer name, the token and tokenSignature: they are looked up before the MQTT
	// username, headers and query string. Nil for device requests.
	Direct []Param
}

// Registry resolves authorizers and their functions.
type Registry interface {
	// Authorizer returns the authorizer called name.
	Authorizer(name string) (*Authorizer, bool)
	// DefaultAuthorizer returns the name of the default authorizer, if one is set.
	DefaultAuthorizer() (name string, ok bool)
	// Invoker returns the invoker of a function; an error means it cannot be invoked (no
	// such function, or its resource policy does not let AWS IoT invoke it).
	// The authorizer is passed so that the function's resource-based policy can be checked
	// against the authorizer's ARN.
	Invoker(a *Authorizer) (lambdarunner.Invoker, error)
}

// Result is a successful authentication.
type Result struct {
	// Authorizer is the authorizer that accepted the connection.
	Authorizer *Authorizer
	// ConnectionID is the connectionMetadata.id sent (generated if the Request had none);
	// pass it again in the Request of a refresh.
	ConnectionID string
	// PrincipalID is the function's principalId.
	PrincipalID string
	// PolicyDocuments holds each document as JSON text (see Response.PolicyDocuments). Results
	// of the same answer share it: it must not be modified.
	PolicyDocuments []string
	// RefreshAfter is when to invoke the function again; 0 means never.
	RefreshAfter time.Duration
	// DisconnectAfter is when to close the connection, counted from connect.
	DisconnectAfter time.Duration
	// Steps is the decision trace.
	Steps []Step
}

// Step is one record of the decision trace.
type Step struct {
	// Name is one of the Step constants.
	Name string
	// Message says what was decided and why.
	Message string
	// Data holds the facts behind the decision.
	Data map[string]any
}

// Authenticator runs the custom authentication pipeline. Only Registry must be set.
type Authenticator struct {
	// Registry resolves authorizers and functions.
	Registry Registry
	// Timeout bounds each invocation; 0 means DefaultTimeout.
	Timeout time.Duration
	// NewConnectionID makes a connection ID for a request without one; nil means a UUID
	// (iotlog.NewTraceID: unique in the process, made without a system call).
	NewConnectionID func() string
	// ShowSecrets writes tokens, signatures and passwords in full in the decision trace, for
	// local debugging. By default the trace shows a short hash of each secret and the first
	// and last characters of a signature.
	ShowSecrets bool
}

// Authenticate runs one authentication attempt (a connect, a refresh or an HTTPS publish):
// it chooses the authorizer, reads and verifies the token, invokes the function with the
// exact AWS event and validates its answer. A failed attempt returns a *Failure.
func (a *Authenticator) Authenticate(ctx context.Context, req Request) (*Result, error) {
	t := &trace{steps: make([]Step, 0, successSteps), redact: redactor{show: a.ShowSecrets}}
	if a.Registry == nil {
		return nil, t.fail(failInternal, StepAuthorizer, "the authenticator has no registry", nil, errors.New("nil Registry"))
	}
	if req.ConnectionID == "" {
		req.ConnectionID = a.newConnectionID()
	}
	src, err := t.sources(req)
	if err != nil {
		return nil, err
	}
	auth, err := t.chooseAuthorizer(a.Registry, src)
	if err != nil {
		return nil, err
	}
	t.redact.tokenKey = auth.TokenKeyName
	token, err := t.token(auth, src)
	if err != nil {
		return nil, err
	}
	verified, err := t.verify(auth, src, token)
	if err != nil {
		return nil, err
	}
	e, err := newEvent(req, auth, token, verified)
	if err != nil {
		return nil, t.fail(failInternal, StepEvent, "could not build the event", nil, err)
	}
	event := e.encode()
	t.step(StepEvent, "event sent to "+auth.FunctionARN, map[string]any{"event": t.redact.event(e, event)})
	raw, err := t.invoke(ctx, a, auth, event)
	if err != nil {
		return nil, err
	}
	resp, err := validate(raw)
	if err != nil {
		return nil, t.fail(failInvalidResponse, StepResponse, err.Error(), nil, err)
	}
	if !resp.IsAuthenticated {
		return nil, t.fail(failNotAuthenticated, StepResponse, "the function answered isAuthenticated: false", nil, ErrNotAuthenticated)
	}
	// The steps of an attempt that succeeds, taken at every connect, are written without fmt.
	refresh, disconnect := resp.RefreshAfter.String(), resp.DisconnectAfter.String()
	t.step(StepResponse, "valid answer: principal "+strconv.Quote(resp.PrincipalID)+", "+strconv.Itoa(len(resp.PolicyDocuments))+
		" policy document(s), refresh after "+refresh+", disconnect after "+disconnect,
		map[string]any{
			"principalId":     resp.PrincipalID,
			"policyDocuments": len(resp.PolicyDocuments),
			"refreshAfter":    refresh,
			"disconnectAfter": disconnect,
		})
	return &Result{
		Authorizer:      auth,
		ConnectionID:    req.ConnectionID,
		PrincipalID:     resp.PrincipalID,
		PolicyDocuments: resp.PolicyDocuments,
		RefreshAfter:    resp.RefreshAfter,
		DisconnectAfter: resp.DisconnectAfter,
		Steps:           t.steps,
	}, nil
}

func (a *Authenticator) newConnectionID() string {
	if a.NewConnectionID != nil {
		return a.NewConnectionID()
	}
	return iotlog.NewTraceID()
}

func (a *Authenticator) timeout() time.Duration {
	if a.Timeout > 0 {
		return a.Timeout
	}
	return DefaultTimeout
}

// successSteps is how many steps an attempt that succeeds records: authorizer, token,
// signature, event, invoke and response.
const successSteps = 6

// trace collects the steps of one attempt.
type trace struct {
	steps  []Step
	redact redactor
}

func (t *trace) step(name, message string, data map[string]any) {
	t.steps = append(t.steps, Step{Name: name, Message: message, Data: data})
}

// fail records the failing step and returns the Failure for kind.
func (t *trace) fail(kind failureKind, name, message string, data map[string]any, err error) *Failure {
	t.step(name, message, data)
	r := failureReasons[kind]
	return &Failure{Reason: r.reason, Details: r.details, Steps: t.steps, Err: err}
}

// sources gathers the places credentials can come from: the MQTT username for MQTT and WSS,
// the headers and query string for WSS and HTTPS.
func (t *trace) sources(req Request) (sources, error) {
	src := sources{http: slices.Contains(req.Protocols, ProtocolHTTP), direct: req.Direct}
	if src.http {
		src.headers = req.Headers
		src.query = parseParams(req.QueryString)
	}
	if req.HasUsername && slices.Contains(req.Protocols, ProtocolMQTT) {
		creds, err := ParseUsername(req.Username)
		if err != nil {
			// AWS (inferred): no authorizer name can be read from such a username.
			return src, t.fail(failMalformedUsername, StepCredentials,
				fmt.Sprintf("the MQTT username %q is malformed (%v): no authorizer name can be read from it", truncate(t.redact.params(req.Username)), err), nil, err)
		}
		src.username = &creds
	}
	return src, nil
}

// chooseAuthorizer finds the authorizer named in the request, else the default one.
func (t *trace) chooseAuthorizer(reg Registry, src sources) (*Authorizer, error) {
	// AWS: x-amz-customauthorizer-name from the MQTT username, an HTTP header or the HTTP
	// query string; else the default authorizer.
	name, from, named := src.find(ParamAuthorizerName, true)
	if !named {
		def, ok := reg.DefaultAuthorizer()
		if !ok {
			return nil, t.fail(failNoAuthorizer, StepAuthorizer,
				fmt.Sprintf("no %s parameter (%s) and no default authorizer", ParamAuthorizerName, src.describe()), nil, ErrNoAuthorizer)
		}
		name, from = def, "default authorizer"
	}
	data := map[string]any{"authorizer": name, "source": from}
	auth, ok := reg.Authorizer(name)
	if !ok || auth == nil {
		return nil, t.fail(failAuthorizerNotFound, StepAuthorizer,
			fmt.Sprintf("authorizer %q (from the %s) does not exist", truncate(name), from), data, ErrAuthorizerNotFound)
	}
	if !auth.Active() {
		return nil, t.fail(failAuthorizerInactive, StepAuthorizer,
			fmt.Sprintf("authorizer %q (from the %s) is INACTIVE", name, from), data, ErrAuthorizerInactive)
	}
	data["functionArn"] = auth.FunctionARN
	data["signingDisabled"] = auth.SigningDisabled
	t.step(StepAuthorizer, "using authorizer "+strconv.Quote(name)+" (from the "+from+")", data)
	return auth, nil
}

// token reads the value of the parameter named by the authorizer's tokenKeyName.
// AWS (inferred): the key matches exactly in the username and query string, and
// case-insensitively among headers (HTTP header names are case-insensitive).
func (t *trace) token(auth *Authorizer, src sources) (string, error) {
	if auth.TokenKeyName == "" {
		t.step(StepToken, "the authorizer has no tokenKeyName: the event carries no token", nil)
		return "", nil
	}
	data := map[string]any{"tokenKeyName": auth.TokenKeyName}
	token, from, ok := src.find(auth.TokenKeyName, false)
	if !ok {
		msg := fmt.Sprintf("no parameter %q (the authorizer's tokenKeyName); %s", auth.TokenKeyName, src.describe())
		if !auth.SigningDisabled {
			// AWS: with signing enabled the token is required.
			return "", t.fail(failTokenMissing, StepToken, msg, data, ErrTokenMissing)
		}
		t.step(StepToken, msg+"; signing is disabled, so the function is invoked without a token", data)
		return "", nil
	}
	data["source"] = from
	t.step(StepToken, "token read from "+strconv.Quote(auth.TokenKeyName)+" in the "+from, data)
	return token, nil
}

// verify checks the token's signature unless the authorizer has signing disabled.
func (t *trace) verify(auth *Authorizer, src sources, token string) (bool, error) {
	if auth.SigningDisabled {
		// AWS: no verification; the event says signatureVerified false.
		t.step(StepSignature, "not checked: the authorizer has signing disabled", nil)
		return false, nil
	}
	sig, from, ok := src.find(ParamSignature, true)
	if !ok {
		// AWS: with signing enabled the request stops before the function is invoked.
		return false, t.fail(failSignatureMissing, StepSignature,
			fmt.Sprintf("no %s parameter; %s", ParamSignature, src.describe()), nil, ErrSignatureMissing)
	}
	data := map[string]any{"source": from, "signature": t.redact.signature(sig)}
	keys, err := auth.PublicKeys()
	if err != nil {
		return false, t.fail(failInternal, StepSignature, "the authorizer's keys do not parse: "+err.Error(), data, err)
	}
	name, err := VerifySignature(keys, token, sig)
	if err != nil {
		// AWS: a signature that does not verify stops the request before the function runs.
		// Said once: "the signature from the MQTT username does not verify: none of the keys ...".
		msg := fmt.Sprintf("the signature from the %s: %v", from, err)
		if se, ok := errors.AsType[*SignatureError](err); ok {
			msg = fmt.Sprintf("the signature from the %s %s: %s", from, strings.TrimPrefix(se.Kind.Error(), "signature "), se.Detail)
		}
		return false, t.fail(failSignatureInvalid, StepSignature, msg, data, err)
	}
	data["keyName"] = name
	t.step(StepSignature, "the signature from the "+from+" verifies with key "+strconv.Quote(name), data)
	return true, nil
}

// invoke calls the authorizer's function with the AWS deadline and returns its raw answer.
func (t *trace) invoke(ctx context.Context, a *Authenticator, auth *Authorizer, event []byte) ([]byte, error) {
	data := map[string]any{"functionArn": auth.FunctionARN}
	inv, err := a.Registry.Invoker(auth)
	if err != nil {
		return nil, t.fail(failFunctionUnavailable, StepInvoke,
			fmt.Sprintf("cannot invoke %s: %v", auth.FunctionARN, err), data, err)
	}
	timeout := a.timeout()
	// AWS: the function must answer within 5 seconds.
	ictx, cancel := context.WithTimeout(ctx, timeout)
	// The request ID links this step to the function's log lines (START, END, REPORT). AWS:
	// Lambda request IDs are UUIDs.
	requestID := iotlog.NewTraceID()
	data["requestId"] = requestID
	ictx = lambdarunner.WithRequestID(ictx, requestID)
	start := time.Now()
	out, err := inv.Invoke(ictx, event)
	elapsed := time.Since(start)
	cancel()
	duration := elapsed.String()
	data["duration"] = duration
	if err != nil {
		var fe *lambdarunner.FunctionError
		switch {
		case ctx.Err() != nil:
			return nil, t.fail(failInternal, StepInvoke, "the attempt was abandoned by its caller: "+ctx.Err().Error(), data,
				fmt.Errorf("attempt abandoned: %w", ctx.Err()))
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(ictx.Err(), context.DeadlineExceeded):
			data["timeout"] = timeout.String()
			// The invoker may report the deadline as the function's own error; say it plainly.
			return nil, t.fail(failFunctionTimeout, StepInvoke,
				fmt.Sprintf("the function did not answer within %s (AWS allows an authorizer 5 s)", timeout), data,
				fmt.Errorf("function did not answer within %s: %w", timeout, context.DeadlineExceeded))
		case errors.As(err, &fe):
			data["errorType"], data["errorMessage"] = fe.Type, fe.Message
			return nil, t.fail(failFunctionError, StepInvoke,
				fmt.Sprintf("the function failed: errorType %q, errorMessage %q", fe.Type, truncate(fe.Message)), data, err)
		default:
			return nil, t.fail(failFunctionUnavailable, StepInvoke,
				fmt.Sprintf("the invocation of %s failed: %v", auth.FunctionARN, err), data, err)
		}
	}
	data["response"] = traceable(out)
	t.step(StepInvoke, "the function answered "+strconv.Itoa(len(out))+" bytes in "+duration, data)
	return out, nil
}

// answers remembers the validation of answers: ValidateResponse depends only on the answer's
// bytes, and a fleet's authorizer often gives many devices the same answer (a policy with
// variables). The answer's lambda invocation still happens every time.
var answers = answerMemo{memo[string, *Response]{max: maxAnswers}}

// answerMemo is answers' type: a memo looked up by an answer's bytes.
type answerMemo struct{ memo[string, *Response] }

// lookup is get(string(raw)) without copying raw.
func (c *answerMemo) lookup(raw []byte) (*Response, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, ok := c.m[string(raw)]
	return resp, ok
}

// maxAnswers bounds answers, and maxAnswerBytes the answers it holds (longer ones are
// validated every time): at most a few megabytes in all.
const (
	maxAnswers     = 256
	maxAnswerBytes = 8 << 10
)

// validate is ValidateResponse, remembered in answers. The result is shared: it must not be
// modified.
func validate(raw []byte) (*Response, error) {
	if resp, ok := answers.lookup(raw); ok {
		return resp, nil
	}
	resp, err := ValidateResponse(raw)
	if err == nil && len(raw) <= maxAnswerBytes {
		answers.put(string(raw), resp)
	}
	return resp, err
}

// traceable returns an answer as a Step keeps it: JSON as json.RawMessage, anything else (or
// anything too long) as a possibly truncated string.
func traceable(out []byte) any {
	if _, valid := answers.lookup(out); valid {
		return json.RawMessage(out)
	}
	if len(out) <= maxTracedResponse && json.Valid(out) {
		return json.RawMessage(out)
	}
	if len(out) > maxTracedResponse {
		return string(out[:maxTracedResponse]) + fmt.Sprintf("... (%d bytes in all)", len(out))
	}
	return string(out)
}
