package emulator

import (
	"github.com/iotemu/iotemu/emulator/iotlog"

	"errors"
	"fmt"

	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/emulator/controlplane"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/lambdarunner"
)

// apiBackend lets the control plane change the running emulator.
type apiBackend struct{ e *Emulator }

// Authorizer implements customauth.Registry.
func (b apiBackend) Authorizer(name string) (*customauth.Authorizer, bool) {
	return b.e.registry.Authorizer(name)
}

// DefaultAuthorizer implements customauth.Registry.
func (b apiBackend) DefaultAuthorizer() (string, bool) { return b.e.registry.DefaultAuthorizer() }

// Invoker implements customauth.Registry.
func (b apiBackend) Invoker(a *customauth.Authorizer) (lambdarunner.Invoker, error) {
	return b.e.registry.Invoker(a)
}

// Authorizers implements controlplane.Backend.
func (b apiBackend) Authorizers() []*customauth.Authorizer { return b.e.registry.list() }

// AuthorizerARN implements controlplane.Backend.
func (b apiBackend) AuthorizerARN(name string) string { return b.e.registry.authorizerARN(name) }

// CreateAuthorizer implements controlplane.Backend. AWS: the keys are PEM text; the emulator's
// other forms (a file path, "generated:NAME") are for its configuration only.
func (b apiBackend) CreateAuthorizer(a customauth.Authorizer) error {
	if err := pemOnly(a.TokenSigningPublicKeys); err != nil {
		return err
	}
	return apiError(b.e.CreateAuthorizer(Authorizer{
		Name:                   a.Name,
		FunctionARN:            a.FunctionARN,
		TokenKeyName:           a.TokenKeyName,
		TokenSigningPublicKeys: a.TokenSigningPublicKeys,
		Status:                 string(a.Status),
		SigningDisabled:        a.SigningDisabled,
		EnableCachingForHTTP:   a.EnableCachingForHTTP,
	}))
}

// UpdateAuthorizer implements controlplane.Backend.
func (b apiBackend) UpdateAuthorizer(name string, u controlplane.AuthorizerUpdate) error {
	if err := pemOnly(u.TokenSigningPublicKeys); err != nil {
		return err
	}
	return apiError(b.e.UpdateAuthorizer(name, AuthorizerUpdate{
		FunctionARN:            u.FunctionARN,
		Status:                 string(u.Status),
		TokenSigningPublicKeys: u.TokenSigningPublicKeys,
		TokenKeyName:           u.TokenKeyName,
		EnableCachingForHTTP:   u.EnableCachingForHTTP,
	}))
}

// DeleteAuthorizer implements controlplane.Backend.
func (b apiBackend) DeleteAuthorizer(name string) error {
	return apiError(b.e.DeleteAuthorizer(name))
}

// SetDefaultAuthorizer implements controlplane.Backend.
func (b apiBackend) SetDefaultAuthorizer(name string) error {
	return apiError(b.e.SetDefaultAuthorizer(name))
}

// Endpoints implements controlplane.Backend.
func (b apiBackend) Endpoints() (ats, legacy string) {
	all := b.e.Endpoints()
	return all[0], all[1]
}

// Statements implements controlplane.Backend.
func (b apiBackend) Statements(function string) (string, []lambdarunner.Statement, error) {
	arn, sts, err := b.e.registry.statements(function)
	return arn, sts, apiError(err)
}

// SetStatements implements controlplane.Backend.
func (b apiBackend) SetStatements(function string, sts []lambdarunner.Statement) error {
	return apiError(b.e.registry.setStatements(function, sts))
}

// pemOnly rejects key values that are not PEM text.
func pemOnly(keys map[string]string) error {
	for name, value := range keys {
		if _, err := customauth.ParsePublicKeyPEM(value); err != nil {
			return fmt.Errorf("%w: tokenSigningPublicKeys: key %q: %v", controlplane.ErrInvalid, name, err)
		}
	}
	return nil
}

// apiError maps the emulator's errors to the control plane's exceptions: a missing
// authorizer or function is not found, a taken name already exists, an ACTIVE authorizer is a
// delete conflict, and anything else is a rule the request broke.
func apiError(err error) error {
	var ex error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errAuthorizerNotFound), errors.Is(err, errFunctionNotFound):
		ex = controlplane.ErrNotFound
	case errors.Is(err, errAuthorizerExists):
		ex = controlplane.ErrAlreadyExists
	case errors.Is(err, errAuthorizerActive):
		ex = controlplane.ErrConflict
	default:
		ex = controlplane.ErrInvalid
	}
	return fmt.Errorf("%w: %s", ex, err.Error())
}

// LogLevels implements controlplane.Logging.
func (b apiBackend) LogLevels() iotlog.Levels { return b.e.LogLevels() }

// UpdateLogLevels implements controlplane.Logging.
func (b apiBackend) UpdateLogLevels(update func(*iotlog.Levels)) { b.e.log.UpdateLevels(update) }

// Account implements controlplane.X509Backend.
func (b apiBackend) Account() *certauth.Registry { return b.e.certs }

// Issuer implements controlplane.X509Backend.
func (b apiBackend) Issuer() *certauth.Issuer { return b.e.Issuer() }
