package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotemu/iotemu/internal/syncbuf"

	"github.com/iotemu/iotemu/internal/testtool"
)

// waitFor polls the output until it contains want (the banner and log lines are written by
// another goroutine).
func waitFor(t *testing.T, out *syncbuf.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never contained %q:\n%s", want, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startServe runs `iotemu serve -config cfgPath` with its data in dir until the test ends, and
// returns its output; atExit, if not nil, checks the output once serve has returned.
func startServe(t *testing.T, cfgPath, dir string, atExit func(out string)) *syncbuf.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-config", cfgPath, "-data-dir", filepath.Join(dir, "data")}, out, out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if atExit != nil {
			atExit(out.String())
		}
	})
	return out
}

// TestServePrintedCommandsWork runs `iotemu serve` on the default configuration (ports moved
// to free ones) and runs the mosquitto_sub and mosquitto_pub commands it prints, exactly as a
// user pastes them into a shell; then the same publish with another token, which must be
// refused and logged.
func TestServePrintedCommandsWork(t *testing.T) {
	testtool.Require(t, "mosquitto_pub")
	testtool.Require(t, "mosquitto_sub")
	dir := t.TempDir()
	// Every listener on a free port: the suite must pass beside a running `iotemu serve`.
	cfg := regexp.MustCompile(`127\.0\.0\.1:[0-9]+`).ReplaceAllString(string(defaultConfigYAML()), "127.0.0.1:0")
	cfgPath := filepath.Join(dir, "iotemu.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := startServe(t, cfgPath, dir, func(out string) {
		// Two connections invoked the demo function: mosquitto_sub and mosquitto_pub (the
		// changed token never reaches it: its signature fails first).
		if !strings.Contains(out, "iotemu-demo: invocations 2, errors 0") {
			t.Errorf("no invocation metrics at exit:\n%s", out)
		}
	})
	waitFor(t, out, "mosquitto_pub ")
	if !strings.Contains(out.String(), "configuration   "+cfgPath) {
		t.Errorf("the banner does not name the configuration file %s:\n%s", cfgPath, out)
	}

	var sub, pub string
	for _, line := range strings.Split(out.String(), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "mosquitto_sub "):
			sub = line
		case strings.HasPrefix(line, "mosquitto_pub "):
			pub = line
		}
	}
	subCmd := exec.Command("bash", "-c", sub+" -C 1 -W 20")
	var subOut bytes.Buffer
	subCmd.Stdout, subCmd.Stderr = &subOut, &subOut
	if err := subCmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "Subscribe Success")
	if b, err := exec.Command("bash", "-c", pub).CombinedOutput(); err != nil {
		t.Fatalf("printed mosquitto_pub failed: %v\n%s\nemulator:\n%s", err, b, out)
	}
	if err := subCmd.Wait(); err != nil {
		t.Fatalf("printed mosquitto_sub failed: %v\n%s\nemulator:\n%s", err, subOut.String(), out)
	}
	if got := strings.TrimSpace(subOut.String()); got != "demo/hello hello from iotemu" {
		t.Fatalf("mosquitto_sub printed %q", got)
	}

	bad := strings.Replace(pub, "token=allow", "token=admin", 1)
	if b, err := exec.Command("bash", "-c", bad).CombinedOutput(); err == nil {
		t.Fatalf("publish with a changed token succeeded:\n%s", b)
	}
	waitFor(t, out, "Connection.AuthNError Failure")
	waitFor(t, out, "SECURITY_TOKEN_SIGNATURE_MISMATCH")
}

func TestServeRejectsABadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte("accountId: \"123456789012\"\nregoin: us-east-1\n"), 0o644)
	err := serve(context.Background(), []string{"-config", path}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "regoin") {
		t.Fatalf("got %v; want an error naming line 2 and the unknown key", err)
	}
}
