package emulator

import (
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
	var keys map[string]string
	if u.TokenSigningPublicKeys != nil {
		keys = make(map[string]string, len(u.TokenSigningPublicKeys))
		for keyName, value := range u.TokenSigningPublicKeys {
			// New key pairs are generated only at start: the keyring is not written to while
			// devices may be reading it through SigningKey.
			if gen, ok := strings.CutPrefix(strings.TrimSpace(value), generatedPrefix); ok {
				if _, known := e.SigningKey(gen); !known {
					return fmt.Errorf("authorizer %s: key %s: %q was not generated at start", name, keyName, value)
				}
			}
			pemText, err := e.keys.publicPEM(value)
			if err != nil {
				return fmt.Errorf("authorizer %s: key %s: %w", name, keyName, err)
			}
			keys[keyName] = pemText
		}
	}
	return e.registry.updateAuthorizer(name, func(a *customauth.Authorizer) {
		if u.FunctionARN != "" {
			a.FunctionARN = u.FunctionARN
		}
		if u.Status != "" {
			a.Status = customauth.Status(u.Status)
		}
		if keys != nil {
			a.TokenSigningPublicKeys = keys
		}
	})
}

// SetDefaultAuthorizer makes an authorizer the default one, used by devices that name none, as
// `aws iot set-default-authorizer` does; "" clears it, as `aws iot clear-default-authorizer`.
func (e *Emulator) SetDefaultAuthorizer(name string) error {
	if name != "" {
		if _, ok := e.registry.Authorizer(name); !ok {
			return fmt.Errorf("authorizer %s not found", name)
		}
	}
	e.registry.setDefault(name)
	return nil
}

// updateAuthorizer replaces an authorizer with a changed copy, if the copy is valid.
func (r *registry) updateAuthorizer(name string, change func(*customauth.Authorizer)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.authorizers[name]
	if !ok {
		return fmt.Errorf("authorizer %s not found", name)
	}
	changed := *a
	change(&changed)
	if err := changed.Validate(); err != nil {
		return fmt.Errorf("authorizer %s: %w", name, err)
	}
	r.authorizers[name] = &changed
	return nil
}
