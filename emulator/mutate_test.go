package emulator_test

import (
	"net/url"
	"testing"

	"github.com/iotemu/iotemu/emulator"
)

// TestRunTimeChanges: the authorizer changes `aws iot update-authorizer` and
// `set-default-authorizer` make apply to the next connection, and bad ones are refused.
func TestRunTimeChanges(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	if err := emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{Status: "INACTIVE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "inactive").connectV3(t); err == nil {
		t.Fatal("connected through an INACTIVE authorizer")
	}
	if err := emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{Status: "ACTIVE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "active").connectV3(t); err != nil {
		t.Fatalf("after setting ACTIVE again: %v", err)
	}

	// Rotation: only the new key verifies.
	if err := emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{TokenSigningPublicKeys: map[string]string{"k2": publicPEM(otherKey())}}); err != nil {
		t.Fatal(err)
	}
	if _, err := newDevice(t, emu, "old-key").connectV3(t); err == nil {
		t.Fatal("connected with a key rotated away")
	}

	d := newDevice(t, emu, "default")
	d.username = "dev?token=" + goodToken + "&x-amz-customauthorizer-signature=" + url.QueryEscape(sign(t, otherKey(), goodToken))
	if _, err := d.connectV3(t); err == nil {
		t.Fatal("connected without a default authorizer")
	}
	if err := emu.SetDefaultAuthorizer(authName); err != nil {
		t.Fatal(err)
	}
	if _, err := d.connectV3(t); err != nil {
		t.Fatalf("through the default authorizer: %v", err)
	}

	for name, err := range map[string]error{
		"unknown authorizer":  emu.UpdateAuthorizer("NoSuch", emulator.AuthorizerUpdate{Status: "ACTIVE"}),
		"bad status":          emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{Status: "PAUSED"}),
		"unknown function":    emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{FunctionARN: "no-such-fn"}),
		"key not generated":   emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{TokenSigningPublicKeys: map[string]string{"k": "generated:later"}}),
		"unknown default":     emu.SetDefaultAuthorizer("NoSuch"),
		"signing without key": emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{TokenSigningPublicKeys: map[string]string{}}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestConfigIsLive: Config returns the configuration with the run-time changes, not the one
// the emulator started with.
func TestConfigIsLive(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	started := emu.Config()
	if len(started.Authorizers) != 1 || started.Authorizers[0].TokenSigningPublicKeys["k1"] != publicPEM(signingKey()) ||
		started.Functions[0].Permissions != nil {
		t.Fatalf("at start: %+v", started)
	}
	if err := emu.UpdateAuthorizer(authName, emulator.AuthorizerUpdate{Status: "INACTIVE", TokenKeyName: "tok2"}); err != nil {
		t.Fatal(err)
	}
	if err := emu.CreateAuthorizer(emulator.Authorizer{Name: "Second", FunctionARN: "auth-fn", SigningDisabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetDefaultAuthorizer("Second"); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetPermissions("auth-fn", []emulator.Permission{}); err != nil {
		t.Fatal(err)
	}
	cfg := emu.Config()
	if len(cfg.Authorizers) != 2 || cfg.Authorizers[0].Status != "INACTIVE" || cfg.Authorizers[0].TokenKeyName != "tok2" ||
		cfg.Authorizers[1].Name != "Second" || !cfg.Authorizers[1].SigningDisabled {
		t.Errorf("authorizers %+v; want %s INACTIVE with tokenKeyName tok2, then Second", cfg.Authorizers, authName)
	}
	if cfg.DefaultAuthorizer != "Second" {
		t.Errorf("defaultAuthorizer %q; want Second", cfg.DefaultAuthorizer)
	}
	if p := cfg.Functions[0].Permissions; p == nil || len(p) != 0 {
		t.Errorf("permissions %v; want the empty list SetPermissions gave", p)
	}
}
