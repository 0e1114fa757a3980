package lambdarunner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// RemoteConfig describes a function served by another program's Lambda Invoke API.
type RemoteConfig struct {
	// URL is the base URL of an Invoke API: AWS's Runtime Interface Emulator
	// (http://127.0.0.1:9000), SAM local, LocalStack.
	URL string
	// FunctionName is the name in the URL path; the Runtime Interface Emulator serves only
	// "function".
	FunctionName string
	// Region signs the requests (default us-east-1). The peer is not expected to check it.
	Region string
}

// Remote is a Runtime that invokes a function through the Lambda Invoke API
// (POST /2015-03-31/functions/NAME/invocations) of another program, with the AWS SDK's Lambda
// client, as any AWS SDK caller would.
type Remote struct {
	cfg       RemoteConfig
	client    *lambda.Client
	transport *http.Transport
}

// NewRemote checks cfg and returns the runtime. It does not contact the peer.
func NewRemote(cfg RemoteConfig) (*Remote, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lambdarunner: remote function URL %q is not an http:// or https:// URL such as http://127.0.0.1:9000", cfg.URL)
	}
	if cfg.FunctionName == "" {
		return nil, fmt.Errorf("lambdarunner: remote function at %s has no function name (the Runtime Interface Emulator's is \"function\")", cfg.URL)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64 // concurrent invocations keep their connections
	endpoint := cfg.URL
	client := lambda.New(lambda.Options{
		Region:       cfg.Region,
		BaseEndpoint: &endpoint,
		// Local Invoke APIs ignore the signature; the credentials only let the SDK sign.
		Credentials: credentials.NewStaticCredentialsProvider("IOTEMU", "iotemu", ""),
		HTTPClient:  &http.Client{Transport: transport},
		// Retryer left nil: the SDK's standard retryer (3 attempts with jittered backoff on
		// throttles, 5xx and connection errors), as any AWS SDK caller gets.
	})
	return &Remote{cfg: cfg, client: client, transport: transport}, nil
}

// Run invokes the function synchronously (RequestResponse) and returns its answer. A function
// error becomes a *FunctionError; a throttle an error wrapping ErrThrottled; other failures an
// error naming the URL and function. The tail of the function's log, when the peer returns it,
// goes to inv.Log.
func (r *Remote) Run(ctx context.Context, inv *Invocation) ([]byte, error) {
	inv.Start()
	out, err := r.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   &r.cfg.FunctionName,
		Payload:        inv.Event,
		InvocationType: types.InvocationTypeRequestResponse,
		LogType:        types.LogTypeTail,
	}, withRequestID(inv.RequestID))
	if err != nil {
		return nil, r.describe(ctx, err)
	}
	if out.LogResult != nil {
		forwardLogTail(inv, *out.LogResult)
	}
	if out.FunctionError != nil {
		// AWS: a function error is a 200 with X-Amz-Function-Error (Unhandled or Handled) and
		// the error payload {"errorMessage","errorType"} as the body.
		return nil, parseFunctionError(out.Payload)
	}
	if fe := rieFunctionError(out.Payload); fe != nil {
		return nil, fe
	}
	return out.Payload, nil
}

// Close closes the idle connections to the peer.
func (r *Remote) Close() error {
	r.transport.CloseIdleConnections()
	return nil
}

// withRequestID sends the invocation's request ID as X-Amzn-RequestId. The Runtime Interface
// Emulator takes it as the invocation's request ID, so that its log lines and the function's
// context carry the ID of our START/END/REPORT lines; Lambda itself ignores it.
func withRequestID(id string) func(*lambda.Options) {
	return func(o *lambda.Options) {
		if id != "" {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue("X-Amzn-RequestId", id))
		}
	}
}

// describe turns the SDK's error into one that says what went wrong where.
func (r *Remote) describe(ctx context.Context, err error) error {
	where := fmt.Sprintf("lambdarunner: remote function %q at %s", r.cfg.FunctionName, r.cfg.URL)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: no answer: %w", where, ctxErr)
	}
	code, status := "", 0
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		code = apiErr.ErrorCode()
	}
	if respErr, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		status = respErr.HTTPStatusCode()
	}
	switch {
	case code == "TooManyRequestsException" || status == http.StatusTooManyRequests:
		// AWS: Lambda answers 429 TooManyRequestsException when the function's concurrency is
		// exhausted (after the SDK's retries).
		return fmt.Errorf("%s: %w: %w", where, ErrThrottled, err)
	case code == "ResourceNotFoundException":
		return fmt.Errorf("%s: the Invoke API has no such function (ResourceNotFoundException): %w", where, err)
	case status == http.StatusNotFound:
		return fmt.Errorf("%s: HTTP 404: not an Invoke API, or no function of that name (the Runtime Interface Emulator serves only \"function\"): %w", where, err)
	case status == http.StatusBadGateway && code == "UnknownError":
		// The Runtime Interface Emulator answers an empty 502 when the function's runtime
		// failed to start or exited during the invocation.
		return fmt.Errorf("%s: HTTP 502 without details: the function's runtime failed or exited (the emulator's output says why): %w", where, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s: connection refused: is the Invoke API running there?: %w", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// parseFunctionError reads Lambda's error payload; a payload that is not one is kept whole as
// the message.
func parseFunctionError(payload []byte) *FunctionError {
	fe := &FunctionError{}
	if err := json.Unmarshal(payload, fe); err != nil || fe.Message == "" && fe.Type == "" {
		fe = &FunctionError{Message: string(payload)}
	}
	return fe
}

// rieFunctionError recognises a function error the Runtime Interface Emulator reports without
// X-Amz-Function-Error: it answers 200 with the error payload as the body, and drops the
// header. A body whose only keys are those of Lambda's error payload, errorMessage among them,
// is taken as such; no authorizer answer looks like that.
func rieFunctionError(payload []byte) *FunctionError {
	if !bytes.Contains(payload, []byte(`"errorMessage"`)) {
		return nil // the usual answer, without decoding it
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(payload, &body) != nil {
		return nil
	}
	if _, ok := body["errorMessage"]; !ok {
		return nil
	}
	for k := range body {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return nil
		}
	}
	return parseFunctionError(payload)
}

// forwardLogTail sends the lines of X-Amz-Log-Result (AWS: base64 of the last 4 KB of the
// invocation's log) to inv.Log. Lambda's own START, END and REPORT lines are not forwarded,
// since the Function writes its own; REPORT tells whether the instance was cold (an Init
// Duration) and its peak memory. A tail that is not base64 is ignored.
func forwardLogTail(inv *Invocation, b64 string) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || inv.Log == nil {
		return
	}
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "START RequestId:"), strings.HasPrefix(line, "END RequestId:"):
		case strings.HasPrefix(line, "REPORT RequestId:"):
			readReport(inv, line)
		default:
			inv.Log(line)
		}
	}
}

// readReport fills in inv from a REPORT line's tab-separated fields.
func readReport(inv *Invocation, line string) {
	for field := range strings.SplitSeq(line, "\t") {
		field = strings.TrimSpace(field)
		if strings.HasPrefix(field, "Init Duration:") {
			inv.ColdStart = true
		}
		if v, ok := strings.CutPrefix(field, "Max Memory Used:"); ok {
			if mb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(v, "MB"))); err == nil {
				inv.MaxMemoryUsedMB = mb
			}
		}
	}
}
