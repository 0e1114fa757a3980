// Package testtool finds the external programs tests drive (mosquitto_pub, curl,
// aws-lambda-rie) and applies the project's rule when one is missing: skip on a laptop, fail
// under IOTEMU_REQUIRE_ALL=1 (as in CI).
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf("%s is not installed (on PATH or in $(go env GOPATH)/bin) and %s=1; .ci/run installs it", name, RequireAllEnv)
	}
	t.Skipf("%s is not installed (on PATH or in $(go env GOPATH)/bin)", name)
	return ""
}
