package emulator_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/iotemu/iotemu/emulator"
)

// TestParseConfigErrors: a syntax error is reported at its own line and column, an unknown
// key at its line, and the inferred switches decode.
func TestParseConfigErrors(t *testing.T) {
	lines := strings.SplitAfter(string(emulator.DefaultYAML()), "\n")
	at := -1 // the line of the demo function's "kind: demo"
	for i, l := range lines {
		if strings.TrimSpace(l) == "kind: demo" {
			at = i
		}
	}
	if at < 0 {
		t.Fatal("the default configuration has no kind: demo line")
	}
	// One key indented too far: its colon is the mistake.
	broken := strings.Join(lines[:at], "") + "     kind: demo\n" + strings.Join(lines[at+1:], "")
	_, err := emulator.ParseConfig("c.yaml", []byte(broken))
	if want := "config c.yaml:" + strconv.Itoa(at+1) + ":10: mapping values are not allowed"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("over-indented key on line %d: %v; want %s...", at+1, err, want)
	}
	_, err = emulator.ParseConfig("c.yaml", []byte("accountId: \"123456789012\"\nregoin: us-east-1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "regoin") {
		t.Errorf("unknown key: %v; want line 2 and the key", err)
	}
	cfg, err := emulator.ParseConfig("c.yaml", append(emulator.DefaultYAML(), []byte("inferred: {acceptHostWithoutSNI: true, quietWrongSNI: true}\n")...))
	if err != nil || !cfg.Inferred.AcceptHostWithoutSNI || cfg.Inferred.IgnoreHostWithSNI || !cfg.Inferred.QuietWrongSNI {
		t.Errorf("inferred switches: %+v, %v", cfg.Inferred, err)
	}
}
