package emulator

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// Config returns the configuration in force, defaults filled in: the start-time one with the
// changes made since (UpdateAuthorizer, CreateAuthorizer, DeleteAuthorizer,
// SetDefaultAuthorizer, SetPermissions and the control plane's operations). A signing key
// keeps the form the configuration gave it ("generated:NAME", a file path) while it is
// unchanged; a key set at run time is its PEM text. A function whose permissions are the
// default ones has nil Permissions, as in a configuration that leaves them out.
func (e *Emulator) Config() Config {
	cfg := e.cfg
	cfg.DefaultAuthorizer, _ = e.registry.DefaultAuthorizer()
	// The start-time authorizers first, in their order, then the ones created since, by name.
	order := map[string]int{}
	forms := map[string]string{} // PEM text → the configuration's value for it
	for i, a := range e.cfg.Authorizers {
		order[a.Name] = i
		for _, v := range a.TokenSigningPublicKeys {
			if pemText, err := e.keys.publicPEM(v); err == nil {
				forms[pemText] = v
			}
		}
	}
	live := e.registry.list()
	slices.SortFunc(live, func(a, b *customauth.Authorizer) int {
		ia, oka := order[a.Name]
		ib, okb := order[b.Name]
		switch {
		case oka && okb:
			return ia - ib
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	cfg.Authorizers = make([]Authorizer, 0, len(live))
	for _, a := range live {
		var keys map[string]string
		if a.TokenSigningPublicKeys != nil {
			keys = maps.Clone(a.TokenSigningPublicKeys)
			for name, pemText := range keys {
				if v, ok := forms[pemText]; ok {
					keys[name] = v
				}
			}
		}
		cfg.Authorizers = append(cfg.Authorizers, Authorizer{
			Name:                   a.Name,
			FunctionARN:            a.FunctionARN,
			TokenKeyName:           a.TokenKeyName,
			TokenSigningPublicKeys: keys,
			Status:                 string(a.Status),
			SigningDisabled:        a.SigningDisabled,
			EnableCachingForHTTP:   a.EnableCachingForHTTP,
		})
	}
	cfg.Functions = slices.Clone(e.cfg.Functions)
	defaults := Function{}.permissions(e.cfg.Region, e.cfg.AccountID)
	for i, f := range cfg.Functions {
		_, sts, err := e.registry.statements(f.Name)
		switch {
		case err != nil:
		case reflect.DeepEqual(sts, defaults):
			cfg.Functions[i].Permissions = nil
		default:
			cfg.Functions[i].Permissions = permissionsOf(sts)
		}
	}
	return cfg
}
