package emulator

import (
	"fmt"
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
	functions   map[string]lambdarunner.Invoker // by function name
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

// Invoker implements customauth.Registry.
func (r *registry) Invoker(functionARN string) (lambdarunner.Invoker, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	inv, ok := r.functions[functionName(functionARN)]
	if !ok {
		return nil, fmt.Errorf("function %s not found", functionARN)
	}
	return inv, nil
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
