package emulator

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/lambdarunner"
)

// registry holds the account's authorizers and functions; it is what the custom
// authentication pipeline looks things up in, and what later changes at run time.
type registry struct {
	mu          sync.RWMutex
	authorizers map[string]*customauth.Authorizer
	defaultName string
	functions   map[string]*lambdarunner.Function // by function name
	region      string
	account     string
}

// Authorizer implements customauth.Registry.
func (r *registry) Authorizer(name string) (*customauth.Authorizer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.authorizers[name]
	return a, ok
}

// DefaultAuthorizer implements customauth.Registry.
func (r *registry) DefaultAuthorizer() (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.defaultName, r.defaultName != ""
}

// Invoker implements customauth.Registry: it finds the authorizer's function and checks that
// the function's resource-based policy lets AWS IoT invoke it for this authorizer.
func (r *registry) Invoker(a *customauth.Authorizer) (lambdarunner.Invoker, error) {
	r.mu.RLock()
	fn, ok := r.functions[functionName(a.FunctionARN)]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("function %s not found", a.FunctionARN)
	}
	// AWS: AWS IoT invokes the function only if its resource-based policy allows principal
	// iot.amazonaws.com action lambda:InvokeFunction (conditions on the authorizer's ARN and
	// the account honoured); otherwise nothing is invoked.
	if err := fn.Policy().Check(lambdarunner.Caller{
		Principal:     lambdarunner.IoTPrincipal,
		SourceARN:     r.authorizerARN(a.Name),
		SourceAccount: r.account,
	}); err != nil {
		return nil, err
	}
	return fn, nil
}

// authorizerARN is arn:aws:iot:REGION:ACCOUNT:authorizer/NAME.
func (r *registry) authorizerARN(name string) string {
	return "arn:aws:iot:" + r.region + ":" + r.account + ":authorizer/" + name
}

// function returns a function by name.
func (r *registry) function(name string) (*lambdarunner.Function, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.functions[name]
	return fn, ok
}

// functionList returns every function, by name.
func (r *registry) functionList() []*lambdarunner.Function {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.SortedFunc(maps.Values(r.functions), func(a, b *lambdarunner.Function) int {
		return strings.Compare(a.Name(), b.Name())
	})
}

// close releases every function's processes and connections.
func (r *registry) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, fn := range r.functions {
		errs = append(errs, fn.Close())
	}
	return errors.Join(errs...)
}

// setDefault changes the default authorizer ("" clears it).
func (r *registry) setDefault(name string) {
	r.mu.Lock()
	r.defaultName = name
	r.mu.Unlock()
}

// setAuthorizer adds or replaces an authorizer.
func (r *registry) setAuthorizer(a *customauth.Authorizer) {
	r.mu.Lock()
	r.authorizers[a.Name] = a
	r.mu.Unlock()
}

// errFunctionNotFound is returned for a function the emulator does not run.
var errFunctionNotFound = errors.New("function not found")

// statements returns a function's ARN and the statements of its resource-based policy.
func (r *registry) statements(function string) (string, []lambdarunner.Statement, error) {
	fn, ok := r.function(functionName(function))
	if !ok {
		return "", nil, fmt.Errorf("%w: %s", errFunctionNotFound, function)
	}
	var sts []lambdarunner.Statement
	if p := fn.Policy(); p != nil {
		sts = slices.Clone(p.Statements)
	}
	return fn.ARN(), sts, nil
}

// setStatements replaces a function's resource-based policy if the statements are valid.
func (r *registry) setStatements(function string, sts []lambdarunner.Statement) error {
	fn, ok := r.function(functionName(function))
	if !ok {
		return fmt.Errorf("%w: %s", errFunctionNotFound, function)
	}
	p := &lambdarunner.ResourcePolicy{Statements: sts}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("permissions of %s: %w", function, err)
	}
	fn.SetPolicy(p)
	return nil
}

// list returns every authorizer.
func (r *registry) list() []*customauth.Authorizer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Collect(maps.Values(r.authorizers))
}
