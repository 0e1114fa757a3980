package scenarios

import (
	"strings"
	"testing"
)

// TestControlPlaneStepsAreChecked: the schema covers the new steps, so a misspelled key is
// reported at its line and column before anything runs.
func TestControlPlaneStepsAreChecked(t *testing.T) {
	for _, c := range []struct{ step, want string }{
		{"- testInvokeAuthorizer: {authorizer: Auth, tokn: t, expect: {isAuthenticated: true}}", `case.yaml:8:44: steps[0].testInvokeAuthorizer: unknown key "tokn" (did you mean "token"?)`},
		{"- describeAuthorizer: {authorizer: Auth}", `case.yaml:8:23: steps[0].describeAuthorizer: missing key "expect"`},
		{"- expectFunctionEvent: {function: fn, fields: {protocolData.mqtt.password: {base64: x}}}", `case.yaml:8:77: steps[0].expectFunctionEvent.fields.protocolData.mqtt.password: unknown key "base64" (did you mean "base64Of"?)`},
	} {
		src := "description: d\nsetup:\n  authorizers:\n    Auth: {function: fn, signingDisabled: true}\n  functions:\n    fn: {response: {isAuthenticated: true, principalId: p}}\nsteps:\n" + c.step + "\n"
		_, err := Parse("case.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.step, err, c.want)
		}
	}
}
