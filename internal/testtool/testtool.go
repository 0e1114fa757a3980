// Package testtool finds the external programs tests drive (mosquitto_pub, curl,
// aws-lambda-rie) and applies the project's rule when one is missing: skip on a laptop, fail
// under IOTEMU_REQUIRE_ALL=1 (as in CI). A package whose tests use it ends its TestMain with
// Report, which names what was skipped and how to install it.
package testtool

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// RequireAllEnv is the environment variable that turns a missing tool into a failure.
const RequireAllEnv = "IOTEMU_REQUIRE_ALL"

// Lookup finds a program on PATH or in $(go env GOPATH)/bin, where go install puts it; "" when
// it is in neither.
func Lookup(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for dir := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
		p := filepath.Join(dir, "bin", name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Require returns the path of a program, skipping the test when it is missing unless
// IOTEMU_REQUIRE_ALL=1, where a missing tool fails it.
func Require(t testing.TB, name string) string {
	t.Helper()
	if p := Lookup(name); p != "" {
		return p
	}
	Missing(t, name, "not on PATH or in $(go env GOPATH)/bin")
	return ""
}

// Missing applies the rule to a tool that is not there (why says how it was looked for):
// the test is skipped, or fails under IOTEMU_REQUIRE_ALL=1.
func Missing(t testing.TB, name, why string) {
	t.Helper()
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf("%s is not installed (%s) and %s=1; .ci/run installs it", name, why, RequireAllEnv)
	}
	skipped.Store(name, true)
	t.Skipf("%s is not installed (%s); %s", name, why, Install(name))
}

// installs says how to install each tool the tests use.
var installs = map[string]string{
	"mosquitto_pub":  "apt-get install mosquitto-clients",
	"mosquitto_sub":  "apt-get install mosquitto-clients",
	"curl":           "apt-get install curl",
	"aws":            "apt-get install awscli (the aws CLI v2)",
	"python3-awscrt": "apt-get install python3-awscrt (AWS's C runtime for Python)",
	"aws-lambda-rie": "bash .ci/install-tools (go install of AWS's Runtime Interface Emulator)",
}

// Install says how to install a tool.
func Install(name string) string {
	if how, ok := installs[name]; ok {
		return "install: " + how
	}
	return "install " + name
}

// skipped holds the names of the tools this test binary went without.
var skipped sync.Map

// Report writes one line naming the tools this package's tests skipped for and how to install
// them; nothing when none was missing. Call it at the end of TestMain. go test shows a passing
// package's output only with -v, so the line goes to the terminal (/dev/tty) when there is
// one, and to standard output otherwise.
func Report() {
	var names []string
	skipped.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	names = unreported(names)
	if len(names) == 0 {
		return
	}
	var w io.Writer = os.Stdout
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprintln(w, reportLine(names))
}

// unreported returns the names that no other package of the same `go test` run has reported
// yet, and records them: the packages' test binaries share their parent, the go command, so a
// file named after its process ID collects what the run reported.
func unreported(names []string) []string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("iotemu-testtool-skipped-%d", os.Getppid()))
	seen, _ := os.ReadFile(path)
	var fresh []string
	for _, n := range names {
		if !slices.Contains(strings.Fields(string(seen)), n) {
			fresh = append(fresh, n)
		}
	}
	if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		fmt.Fprintln(f, strings.Join(fresh, " "))
		f.Close()
	}
	return fresh
}

// reportLine is Report's line for the skipped tools names.
func reportLine(names []string) string {
	slices.Sort(names)
	hows := make([]string, 0, len(names))
	for _, n := range names {
		if how := Install(n); !slices.Contains(hows, how) {
			hows = append(hows, how)
		}
	}
	return fmt.Sprintf("iotemu tests: skipped the tests that need %s (%s; %s=1 makes them fail instead)",
		strings.Join(names, ", "), strings.Join(hows, "; "), RequireAllEnv)
}
