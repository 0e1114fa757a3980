// Package lambdarunner runs an authorizer function the way AWS Lambda runs it.
//
// Every kind of function (an in-process Go handler, a local executable behind a Lambda Runtime
// API, a remote Invoke API) is reached through one interface, Invoker, so the custom
// authentication pipeline does not care where the function lives.
package lambdarunner

import (
	"context"
	"errors"
	"fmt"
)

// Invoker invokes one function synchronously with a JSON event and returns its JSON answer.
//
// Invoke honours ctx: when ctx is done the invocation is abandoned and ctx's error is returned
// (wrapped), as Lambda abandons an invocation that passes its deadline.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// FunctionError is returned by Invoke when the function itself failed: it returned an error,
// panicked, or crashed. It mirrors the error payload Lambda reports
// ({"errorMessage","errorType"}).
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType,omitempty"`
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return "function error: " + e.Message
	}
	return fmt.Sprintf("function error (%s): %s", e.Type, e.Message)
}

// IsFunctionError reports whether err is (or wraps) a *FunctionError.
func IsFunctionError(err error) bool {
	var fe *FunctionError
	return errors.As(err, &fe)
}
