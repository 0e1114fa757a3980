package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// Steps that change the world while devices are connected: the clock, the function's
// permission, the authorizers.

func (s *advanceStep) describe() string  { return "advance " + time.Duration(s.By).String() }
func (s *advanceStep) refs() []reference { return nil }

func (s *advanceStep) run(x *execution) outcome {
	want := "the clock " + time.Duration(s.By).String() + " later, its timers run"
	if err := x.emu.Advance(time.Duration(s.By)); err != nil {
		return outcome{want: want, saw: err.Error()}
	}
	return outcome{want: want, saw: "now " + x.emu.Clock().Now().UTC().Format(time.TimeOnly), ok: true}
}

func (s *setPermissionsStep) describe() string { return "setPermissions " + s.Function.name }
func (s *setPermissionsStep) refs() []reference {
	return []reference{{refFunction, s.Function}}
}

func (s *setPermissionsStep) run(x *execution) outcome {
	want := fmt.Sprintf("%d permission statement(s)", len(s.Permissions))
	if s.Permissions == nil {
		want = "the default permission for AWS IoT"
	}
	return changed(want, x.emu.SetPermissions(s.Function.name, s.Permissions))
}

func (s *setAuthorizerStep) describe() string { return "setAuthorizer " + s.Authorizer.name }

func (s *setAuthorizerStep) refs() []reference {
	refs := []reference{{refAuthorizer, s.Authorizer}}
	if s.Function != nil {
		refs = append(refs, reference{refFunction, *s.Function})
	}
	for _, k := range s.SigningKeys {
		refs = append(refs, reference{refKey, k})
	}
	return refs
}

func (s *setAuthorizerStep) run(x *execution) outcome {
	var want []string
	u := emulator.AuthorizerUpdate{Status: s.Status}
	if s.Function != nil {
		u.FunctionARN = s.Function.name
		want = append(want, "function "+s.Function.name)
	}
	if s.Status != "" {
		want = append(want, "status "+s.Status)
	}
	if s.SigningKeys != nil {
		pems, err := publicKeys(s.SigningKeys, x.keys)
		if err != nil {
			return outcome{want: "new signing keys", saw: err.Error()}
		}
		u.TokenSigningPublicKeys = pems
		want = append(want, "signing keys "+strings.Join(slices.Sorted(maps.Keys(s.SigningKeys)), ", "))
	}
	return changed(strings.Join(want, ", "), x.emu.UpdateAuthorizer(s.Authorizer.name, u))
}

func (s *setDefaultStep) describe() string { return "setDefaultAuthorizer " + s.Authorizer.name }

func (s *setDefaultStep) refs() []reference {
	if s.Authorizer.name == "" {
		return nil
	}
	return []reference{{refAuthorizer, s.Authorizer}}
}

func (s *setDefaultStep) run(x *execution) outcome {
	want := "default authorizer " + s.Authorizer.name
	if s.Authorizer.name == "" {
		want = "no default authorizer"
	}
	return changed(want, x.emu.SetDefaultAuthorizer(s.Authorizer.name))
}

// changed is the outcome of a change the emulator accepts or refuses.
func changed(want string, err error) outcome {
	if err != nil {
		return outcome{want: want, saw: err.Error()}
	}
	return outcome{want: want, saw: "done", ok: true}
}
