package testtool

import (
	"bytes"
	"os/exec"
	"sync"
	"testing"
)

// Debian's copies of the tools that a shim on PATH may shadow (pyenv puts an aws CLI v1 and a
// python3 without awscrt ahead of them, on this project's machines and in CI).
const (
	debianAWS     = "/usr/bin/aws"
	debianPython3 = "/usr/bin/python3"
)

// awsCLIv2 is the path of an aws CLI v2, "" when there is none; looked up once per test binary.
var awsCLIv2 = sync.OnceValue(func() string {
	return firstThat(func(p string) bool {
		out, err := exec.Command(p, "--version").Output()
		return err == nil && bytes.HasPrefix(out, []byte("aws-cli/2."))
	}, debianAWS, Lookup("aws"))
})

// AWSCLI returns the path of the aws CLI v2 (Debian's awscli, /usr/bin/aws, preferred over
// whatever `aws` PATH finds first), skipping the test when there is none unless
// IOTEMU_REQUIRE_ALL=1, where it fails. An aws CLI v1 does not count: the tests check what the
// CLI v2 users of the guide run.
func AWSCLI(t testing.TB) string {
	t.Helper()
	return found(t, awsCLIv2(), "aws", "neither "+debianAWS+" nor an `aws` on PATH whose --version is aws-cli/2")
}

// awscrtPython is the path of a python3 that can import AWS's C runtime, "" when there is none.
var awscrtPython = sync.OnceValue(func() string {
	return firstThat(func(p string) bool {
		return exec.Command(p, "-c", "import awscrt.mqtt").Run() == nil
	}, debianPython3, Lookup("python3"))
})

// AWSCRTPython returns the path of a Python interpreter that can import awscrt (Debian's
// python3-awscrt installs it for /usr/bin/python3, which is preferred over PATH's python3),
// skipping the test when there is none unless IOTEMU_REQUIRE_ALL=1, where it fails.
func AWSCRTPython(t testing.TB) string {
	t.Helper()
	return found(t, awscrtPython(), "python3-awscrt", "neither "+debianPython3+" nor PATH's python3 can import awscrt")
}

// firstThat returns the first of the paths (skipping "") that works, "" when none does.
func firstThat(works func(path string) bool, paths ...string) string {
	for _, p := range paths {
		if p != "" && works(p) {
			return p
		}
	}
	return ""
}

// found returns path, applying Missing (why says how the tool was looked for) when it is "".
func found(t testing.TB, path, name, why string) string {
	t.Helper()
	if path == "" {
		Missing(t, name, why)
	}
	return path
}
