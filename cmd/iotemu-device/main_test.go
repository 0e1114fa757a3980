package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator"
)

// TestDevice runs the device against an in-process emulator with the demo authorizer: it
// connects with a signed token, sends a message round and sees the bad token refused; a "bad"
// token the authorizer accepts makes it fail.
func TestDevice(t *testing.T) {
	dir := t.TempDir()
	cfg := emulator.DefaultConfig()
	cfg.Listen = emulator.Listen{} // free loopback ports, no proxy, no admin endpoint
	cfg.DataDir = dir
	emu := emulator.NewTest(t, cfg)
	d := device{
		endpoint:     emu.Endpoint(),
		address:      emu.Addr(emulator.Port443).String(),
		caFile:       filepath.Join(dir, "ca.pem"),
		keyFile:      filepath.Join(dir, "demo-signing-key.pem"),
		authorizer:   "iotemu-demo",
		tokenKeyName: "token",
		clientID:     "device-1",
		topic:        "demo/hello",
		wait:         5 * time.Second,
	}
	if err := d.run(emulator.DemoToken, "not-the-token"); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := d.run(emulator.DemoToken, emulator.DemoToken); err == nil || !strings.Contains(err.Error(), "was accepted") {
		t.Errorf("a bad token that connects: got %v, want an error", err)
	}
}

// TestUsername checks that the signature is URL-encoded in the username, as AWS requires.
func TestUsername(t *testing.T) {
	d := device{authorizer: "a", tokenKeyName: "tok"}
	got, err := d.username(nil, "x y")
	if err != nil {
		t.Fatal(err)
	}
	if want := "?tok=x+y&x-amz-customauthorizer-name=a"; got != want {
		t.Errorf("username = %q, want %q", got, want)
	}
}
