package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := version(nil, &out, &out); err != nil || !strings.HasPrefix(out.String(), "iotemu ") {
		t.Fatalf("iotemu version: %q, %v", out.String(), err)
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionLine(info), "iotemu v1.2.3 (commit abc123, modified, 2026-01-02T03:04:05Z) go1.26.0"; got != want {
		t.Errorf("versionLine = %q, want %q", got, want)
	}
}

// TestStrayArgument: `iotemu serve my.yaml` is refused, naming the argument and -config.
func TestStrayArgument(t *testing.T) {
	var out bytes.Buffer
	for _, cmd := range [][]string{{"serve", "my.yaml"}, {"config", "default"}, {"sign", "-token", "t", "extra"}, {"version", "x"}} {
		err := run(cmd, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "unexpected argument") {
			t.Errorf("iotemu %v: %v; want an unexpected-argument error", cmd, err)
		}
	}
}

// TestConfigHelp: `iotemu config -h` prints its usage, not the configuration.
func TestConfigHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	run([]string{"config", "-h"}, &stdout, &stderr)
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "usage: iotemu config") {
		t.Errorf("stdout %q, stderr %q; want only the usage on stderr", stdout.String(), stderr.String())
	}
}
