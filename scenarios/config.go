package scenarios

import (
	"crypto/rsa"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// config is the emulator configuration of a scenario, with its keys' public halves.
func (r *Runner) config(sc *Scenario, keys map[string]*rsa.PrivateKey) (emulator.Config, error) {
	s := sc.setup
	cfg := emulator.Config{AccountID: s.AccountID, Region: s.Region, EndpointPrefix: s.EndpointPrefix}
	if s.DefaultAuthorizer != nil {
		cfg.DefaultAuthorizer = s.DefaultAuthorizer.name
	}
	for _, name := range slices.Sorted(maps.Keys(s.Functions)) {
		cfg.Functions = append(cfg.Functions, r.function(sc, name))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Authorizers)) {
		a := s.Authorizers[name]
		pems, err := publicKeys(a.SigningKeys, keys)
		if err != nil {
			return cfg, fmt.Errorf("authorizer %s: %w", name, err)
		}
		cfg.Authorizers = append(cfg.Authorizers, emulator.Authorizer{
			Name:                   name,
			FunctionARN:            a.Function.name, // the emulator takes a bare function name too
			TokenKeyName:           a.TokenKeyName,
			TokenSigningPublicKeys: pems,
			Status:                 a.Status,
			SigningDisabled:        a.SigningDisabled,
			EnableCachingForHTTP:   a.EnableCachingForHTTP,
		})
	}
	return cfg, nil
}

// function is the emulator function for a scenario's function name.
func (r *Runner) function(sc *Scenario, name string) emulator.Function {
	f := sc.setup.Functions[name]
	fn := emulator.Function{Name: name, Timeout: time.Duration(f.Timeout), Permissions: f.Permissions}
	kind, path := f.Kind, f.Path
	if exe, ok := r.Executables[name]; ok {
		kind, path = "executable", exe
	}
	if r.Substitute != nil && name == SubstitutedFunction {
		user := r.Substitute.Function
		user.Name, user.Permissions = name, f.Permissions
		return user
	}
	switch kind {
	case "", "static":
		fn.Kind, fn.Handler = emulator.KindGo, newStaticFunction(sc.static[name])
	case "demo":
		fn.Kind = emulator.KindDemo
	case "executable":
		fn.Kind, fn.Path, fn.Args, fn.Environment = emulator.KindExecutable, path, f.Args, f.Environment
	case "remote":
		fn.Kind, fn.URL, fn.RemoteName = emulator.KindRemote, f.URL, f.RemoteName
	}
	return fn
}

// publicKeys maps AWS key names to the PEM public keys of the scenario keys they name.
func publicKeys(refs map[string]ref, keys map[string]*rsa.PrivateKey) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	for awsName, r := range refs {
		pem, err := emulator.PublicKeyPEM(&keys[r.name].PublicKey)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", r.name, err)
		}
		out[awsName] = pem
	}
	return out, nil
}
