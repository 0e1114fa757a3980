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
