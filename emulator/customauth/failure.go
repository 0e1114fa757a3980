package customauth

import "errors"

// The reasons AWS IoT logs in a Connection.AuthNError event. AWS: the strings are documented.
const (
	// ReasonAuthorizerNotFound: no usable authorizer.
	ReasonAuthorizerNotFound = "CUSTOM_AUTHORIZER_NOT_FOUND"
	// ReasonParameterInvalid: the credentials are incomplete or malformed.
	ReasonParameterInvalid = "CUSTOM_AUTHORIZER_PARAMETER_INVALID"
	// ReasonLambdaExecutionError: the function could not be invoked, failed, timed out or
	// answered something invalid.
	ReasonLambdaExecutionError = "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR"
	// ReasonNotAuthenticated: the function answered isAuthenticated false.
	ReasonNotAuthenticated = "NOT_AUTHENTICATED"
	// ReasonSignatureMismatch: the token's signature does not verify.
	ReasonSignatureMismatch = "SECURITY_TOKEN_SIGNATURE_MISMATCH"
	// ReasonInternalServerError: the emulator itself could not go on.
	ReasonInternalServerError = "INTERNAL_SERVER_ERROR"
)

// Errors a Failure wraps (besides *lambdarunner.FunctionError, *ResponseError,
// ErrMalformedUsername, ErrSignatureEncoding, ErrSignatureMismatch and context errors).
var (
	// ErrAuthorizerNotFound: the named authorizer (or the default one) does not exist.
	ErrAuthorizerNotFound = errors.New("authorizer not found")
	// ErrNoAuthorizer: no authorizer was named and there is no default authorizer.
	ErrNoAuthorizer = errors.New("no authorizer named and no default authorizer")
	// ErrAuthorizerInactive: the authorizer's status is INACTIVE.
	ErrAuthorizerInactive = errors.New("authorizer is inactive")
	// ErrTokenMissing: signing is enabled and no token was found under tokenKeyName.
	ErrTokenMissing = errors.New("token missing")
	// ErrSignatureMissing: signing is enabled and no signature was sent.
	ErrSignatureMissing = errors.New("signature missing")
	// ErrNotAuthenticated: the function answered isAuthenticated false.
	ErrNotAuthenticated = errors.New("not authenticated")
)

// Failure is the error Authenticate returns when authentication fails.
type Failure struct {
	// Reason is the AWS log reason, one of the Reason constants.
	Reason string
	// Details is the short text AWS logs beside the reason.
	Details string
	// Steps is the decision trace up to and including the failing decision.
	Steps []Step
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (f *Failure) Error() string {
	if f.Err == nil {
		return f.Reason + ": " + f.Details
	}
	return f.Reason + ": " + f.Details + ": " + f.Err.Error()
}

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// failureKind is one way authentication can fail.
type failureKind int

const (
	failAuthorizerNotFound failureKind = iota
	failNoAuthorizer
	failAuthorizerInactive
	failMalformedUsername
	failTokenMissing
	failSignatureMissing
	failSignatureInvalid
	failFunctionUnavailable
	failFunctionError
	failFunctionTimeout
	failInvalidResponse
	failNotAuthenticated
	failInternal
)

// failureReasons is the one place that says which failure AWS IoT logs with which reason and
// details. The reason strings are documented; the mapping of each case to them is not, except
// where the reason names the case itself.
var failureReasons = [...]struct{ reason, details string }{
	// AWS: an unknown authorizer name fails the connection without invoking anything.
	failAuthorizerNotFound: {ReasonAuthorizerNotFound, "Authorizer not found"},
	// AWS: no name and no default authorizer fails the connection.
	// AWS (inferred): logged as CUSTOM_AUTHORIZER_NOT_FOUND.
	failNoAuthorizer: {ReasonAuthorizerNotFound, "Authorizer not found"},
	// AWS (inferred): an INACTIVE authorizer is treated as not found.
	failAuthorizerInactive: {ReasonAuthorizerNotFound, "Authorizer not found"},
	// AWS (inferred): a username with a second '?' is a malformed parameter.
	failMalformedUsername: {ReasonParameterInvalid, "Malformed username"},
	// AWS (inferred): no token under tokenKeyName (signing enabled) is an invalid parameter.
	failTokenMissing: {ReasonParameterInvalid, "Token is missing"},
	// AWS (inferred): no signature (signing enabled) is an invalid parameter.
	failSignatureMissing: {ReasonParameterInvalid, "Signature is missing"},
	// AWS (inferred): a signature that is not base64 or does not verify is a mismatch.
	failSignatureInvalid: {ReasonSignatureMismatch, "Signature validation failed"},
	// AWS (inferred): a function that cannot be invoked (missing, no permission for
	// iot.amazonaws.com) is a Lambda execution error.
	failFunctionUnavailable: {ReasonLambdaExecutionError, "Unable to invoke authorizer function"},
	// AWS (inferred): a function that returns an error, panics or crashes.
	failFunctionError: {ReasonLambdaExecutionError, "Authorizer function execution failed"},
	// AWS (inferred): a function that does not answer within 5 seconds.
	failFunctionTimeout: {ReasonLambdaExecutionError, "Authorizer function timed out"},
	// AWS (inferred): an answer that breaks a response rule.
	failInvalidResponse: {ReasonLambdaExecutionError, "Invalid response from authorizer function"},
	// AWS (inferred): isAuthenticated false.
	failNotAuthenticated: {ReasonNotAuthenticated, "Authentication failed"},
	// AWS (inferred): the emulator cannot go on (a stored key that does not parse, the caller
	// gave up).
	failInternal: {ReasonInternalServerError, "Internal server error"},
}
