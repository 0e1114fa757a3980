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
	for _, p := range []string{debianAWS, Lookup("aws")} {
		if p == "" {
			continue
		}
		out, err := exec.Command(p, "--version").Output()
		if err == nil && bytes.HasPrefix(out, []byte("aws-cli/2.")) {
			return p
		}
	}
	return ""
})

// AWSCLI returns the path of the aws CLI v2 (Debian's awscli, /usr/bin/aws, preferred over
// whatever `aws` PATH finds first), skipping the test when there is none unless
// IOTEMU_REQUIRE_ALL=1, where it fails. An aws CLI v1 does not count: the tests check what the
// CLI v2 users of the guide run.
func AWSCLI(t testing.TB) string {
	t.Helper()
	if p := awsCLIv2(); p != "" {
		return p
	}
	Missing(t, "aws", "neither "+debianAWS+" nor an `aws` on PATH whose --version is aws-cli/2")
	return ""
}

// awscrtPython is the path of a python3 that can import AWS's C runtime, "" when there is none.
var awscrtPython = sync.OnceValue(func() string {
	for _, p := range []string{debianPython3, Lookup("python3")} {
		if p != "" && exec.Command(p, "-c", "import awscrt.mqtt").Run() == nil {
			return p
		}
	}
	return ""
})

// AWSCRTPython returns the path of a Python interpreter that can import awscrt (Debian's
// python3-awscrt installs it for /usr/bin/python3, which is preferred over PATH's python3),
// skipping the test when there is none unless IOTEMU_REQUIRE_ALL=1, where it fails.
func AWSCRTPython(t testing.TB) string {
	t.Helper()
	if p := awscrtPython(); p != "" {
		return p
	}
	Missing(t, "python3-awscrt", "neither "+debianPython3+" nor PATH's python3 can import awscrt")
	return ""
}
