package authcheck

import (
	"strings"
	"testing"
)

// Test runs the check on an in-process handler (anything aws-lambda-go's lambda.Start
// accepts) with the device's credentials, logs the report, and fails t when a finding would
// fail on AWS or deny a device:
//
//	func TestMyAuthorizer(t *testing.T) {
//		t.Parallel()
//		authcheck.Test(t, handle, authcheck.Device{Token: "allow", ClientID: "dev1"})
//	}
//
// (TestMyAuthorizer in this package's tests.)
func Test(t testing.TB, handler any, dev Device) *Report {
	t.Helper()
	r, err := Run(t.Context(), Function{Handler: handler}, dev, Options{})
	if err != nil {
		t.Fatalf("iotemu check: %v", err)
	}
	var b strings.Builder
	_ = r.WriteText(&b) // a strings.Builder does not fail
	if r.Failed() {
		t.Errorf("%s", b.String())
	} else {
		t.Log(b.String())
	}
	return r
}
