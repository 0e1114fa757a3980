package emulator

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// AuthorizerUpdate changes an authorizer as AWS's UpdateAuthorizer does: each field that is
// set replaces the authorizer's, the others stay.
type AuthorizerUpdate struct {
	// FunctionARN points the authorizer at another function (its ARN or bare name); empty
	// leaves it.
	FunctionARN string
	// Status is ACTIVE or INACTIVE; empty leaves it.
	Status string
	// TokenSigningPublicKeys replaces the token signing keys (key rotation); nil leaves them.
	// Values are as in Authorizer.TokenSigningPublicKeys: PEM text, a path to a PEM file, or
	// "generated:NAME" for a key the emulator generated at start.
	TokenSigningPublicKeys map[string]string
	// TokenKeyName renames the token parameter; empty leaves it.
	TokenKeyName string
	// EnableCachingForHTTP turns HTTP caching on or off; nil leaves it.
	EnableCachingForHTTP *bool
}

// UpdateAuthorizer changes an authorizer of the running emulator, as
// `aws iot update-authorizer` does. Connections made and refreshes run after it returns see
// the change.
func (e *Emulator) UpdateAuthorizer(name string, u AuthorizerUpdate) error {
	if u.FunctionARN != "" {
		if _, ok := e.registry.function(functionName(u.FunctionARN)); !ok {
			return fmt.Errorf("authorizer %s: function %s not found", name, u.FunctionARN)
		}
	}
	keys, err := e.resolveKeys(name, u.TokenSigningPublicKeys)
	if err != nil {
		return err
	}
	return e.registry.updateAuthorizer(name, func(a *customauth.Authorizer) {
		if u.FunctionARN != "" {
			a.FunctionARN = functionARN(u.FunctionARN, e.cfg.Region, e.cfg.AccountID)
		}
		if u.Status != "" {
			a.Status = customauth.Status(u.Status)
		}
		if keys != nil {
			a.TokenSigningPublicKeys = keys
		}
		if u.TokenKeyName != "" {
			a.TokenKeyName = u.TokenKeyName
		}
		if u.EnableCachingForHTTP != nil {
			a.EnableCachingForHTTP = *u.EnableCachingForHTTP
		}
		a.LastModifiedDate = e.clock.Now()
	})
}

// resolveKeys turns the values of Authorizer.TokenSigningPublicKeys into PEM text, for an
// authorizer of the running emulator; nil stays nil.
func (e *Emulator) resolveKeys(authorizer string, values map[string]string) (map[string]string, error) {
	if values == nil {
		return nil, nil
	}
	keys := make(map[string]string, len(values))
	for keyName, value := range values {
		// New key pairs are generated only at start: the keyring is not written to while
		// devices may be reading it through SigningKey.
		if gen, ok := strings.CutPrefix(strings.TrimSpace(value), generatedPrefix); ok {
			if _, known := e.SigningKey(gen); !known {
				return nil, fmt.Errorf("authorizer %s: key %s: %q was not generated at start", authorizer, keyName, value)
			}
		}
		pemText, err := e.keys.publicPEM(value)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: key %s: %w", authorizer, keyName, err)
		}
		keys[keyName] = pemText
	}
	return keys, nil
}

// CreateAuthorizer adds an authorizer to the running emulator, as `aws iot create-authorizer`
// does; an empty Status is ACTIVE. It fails if the name is taken, the function is not one of
// the emulator's, or the authorizer breaks AWS's rules (customauth.Authorizer.Validate).
func (e *Emulator) CreateAuthorizer(a Authorizer) error {
	if _, ok := e.registry.function(functionName(a.FunctionARN)); !ok {
		return fmt.Errorf("authorizer %s: function %s not found", a.Name, a.FunctionARN)
	}
	keys, err := e.resolveKeys(a.Name, a.TokenSigningPublicKeys)
	if err != nil {
		return err
	}
	status := customauth.Status(a.Status)
	if status == "" {
		// AWS: CreateAuthorizer's status defaults to ACTIVE.
		status = customauth.StatusActive
	}
	now := e.clock.Now()
	ca := &customauth.Authorizer{
		Name:                   a.Name,
		FunctionARN:            functionARN(a.FunctionARN, e.cfg.Region, e.cfg.AccountID),
		TokenKeyName:           a.TokenKeyName,
		TokenSigningPublicKeys: keys,
		SigningDisabled:        a.SigningDisabled,
		Status:                 status,
		EnableCachingForHTTP:   a.EnableCachingForHTTP,
		CreationDate:           now,
		LastModifiedDate:       now,
	}
	if err := ca.Validate(); err != nil {
		return fmt.Errorf("authorizer %s: %w", a.Name, err)
	}
	return e.registry.addAuthorizer(ca)
}

// DeleteAuthorizer removes an authorizer, as `aws iot delete-authorizer` does: only an
// INACTIVE one can be deleted. Deleting the default authorizer clears the default.
func (e *Emulator) DeleteAuthorizer(name string) error {
	return e.registry.deleteAuthorizer(name)
}

// SetDefaultAuthorizer makes an authorizer the default one, used by devices that name none, as
// `aws iot set-default-authorizer` does; "" clears it, as `aws iot clear-default-authorizer`.
func (e *Emulator) SetDefaultAuthorizer(name string) error {
	if name != "" {
		if _, ok := e.registry.Authorizer(name); !ok {
			return fmt.Errorf("%w: %s", errAuthorizerNotFound, name)
		}
	}
	e.registry.setDefault(name)
	return nil
}

// Errors of the registry's changes, for callers that map them to AWS exceptions.
var (
	errAuthorizerExists   = errors.New("authorizer already exists")
	errAuthorizerNotFound = errors.New("authorizer not found")
	errAuthorizerActive   = errors.New("an ACTIVE authorizer cannot be deleted")
)

// addAuthorizer adds an authorizer whose name is not taken.
func (r *registry) addAuthorizer(a *customauth.Authorizer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.authorizers[a.Name]; ok {
		return fmt.Errorf("%w: %s", errAuthorizerExists, a.Name)
	}
	r.authorizers[a.Name] = a
	return nil
}

// deleteAuthorizer removes an INACTIVE authorizer.
func (r *registry) deleteAuthorizer(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.authorizers[name]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", errAuthorizerNotFound, name)
	case a.Active():
		// AWS: an ACTIVE authorizer cannot be deleted (DeleteConflictException).
		return fmt.Errorf("%w: set %s INACTIVE first", errAuthorizerActive, name)
	}
	delete(r.authorizers, name)
	if r.defaultName == name {
		r.defaultName = ""
	}
	return nil
}

// updateAuthorizer replaces an authorizer with a changed copy, if the copy is valid.
func (r *registry) updateAuthorizer(name string, change func(*customauth.Authorizer)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.authorizers[name]
	if !ok {
		return fmt.Errorf("%w: %s", errAuthorizerNotFound, name)
	}
	changed := *a
	change(&changed)
	if err := changed.Validate(); err != nil {
		return fmt.Errorf("authorizer %s: %w", name, err)
	}
	r.authorizers[name] = &changed
	return nil
}
