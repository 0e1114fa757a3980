package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// base is a valid scenario that the cases below break in one place each.
const base = `description: a device connects
setup:
  keys:
    deviceKey:
  authorizers:
    Auth: {function: fn, tokenKeyName: token, signingKeys: {key1: deviceKey}}
  functions:
    fn:
      response: {isAuthenticated: true, principalId: p1}
clients:
  dev: {authorizer: Auth, token: t}
steps:
  - connect: {client: dev, expect: refused}
`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, old, new string
		want           string // the first error, exactly
	}{
		{"misspelled key", "dev: {authorizer", "dev: {authorizr",
			`case.yaml:11:9: clients.dev: unknown key "authorizr" (did you mean "authorizer"?)`},
		{"misspelled step", "- connect:", "- conect:",
			`case.yaml:13:5: steps[0]: unknown key "conect" (did you mean "connect"?)`},
		{"wrong type", "isAuthenticated: true", "isAuthenticated: yes",
			`case.yaml:9:35: setup.functions.fn.response.isAuthenticated: "yes" is a string, want boolean`},
		{"wrong type in a step", "expect: refused}", "expect: {result: refused, connack: high}}",
			`case.yaml:13:63: steps[0].connect.expect.connack: "high" is a string, want integer`},
		{"bad enum value", "expect: refused}", "expect: denied}",
			`case.yaml:13:36: steps[0].connect.expect: "denied" is not one of connected, refused, closed`},
		{"unquoted account", "setup:\n", "setup:\n  accountId: 123456789012\n",
			`case.yaml:3:14: setup.accountId: 123456789012 is an integer, want string (quote it)`},
		{"bad duration", "  - connect: {client: dev, expect: refused}\n", "  - advance: 5 minutes\n",
			`case.yaml:13:14: steps[0].advance: "5 minutes" is not a duration such as 300ms, 5s, 10m or 1h30m`},
		{"missing required key", "{client: dev, expect: refused}", "{expect: refused}",
			`case.yaml:13:14: steps[0].connect: missing key "client"`},
		{"two actions in a step", "  - connect: {client: dev, expect: refused}\n", "  - connect: dev\n    disconnect: dev\n",
			`case.yaml:13:5: steps[0]: has 2 keys (connect, disconnect) where at most 1 is allowed (One action, with what it should lead to)`},
		{"undefined client", "{client: dev,", "{client: dve,",
			`case.yaml:13:23: client "dve" is not defined; defined: dev (did you mean "dev"?)`},
		{"undefined key", "{key1: deviceKey}", "{key1: devKey}",
			`case.yaml:6:67: key "devKey" is not defined; defined: deviceKey`},
		{"undefined function", "{function: fn,", "{function: fm,",
			`case.yaml:6:22: function "fm" is not defined; defined: fn (did you mean "fn"?)`},
		{"bad template", "principalId: p1", `principalId: "{{.ClientID}}"`,
			`case.yaml:9:54: template: response:1:2: executing "response" at <.ClientID>: can't evaluate field ClientID in type events.IoTCoreCustomAuthorizerRequest`},
		{"static function without an answer", "      response: {isAuthenticated: true, principalId: p1}\n", "      sleep: 1s\n",
			`case.yaml:9:7: function fn: a static function needs exactly one of response, responseRaw or error (or a list of responses)`},
		{"syntax error", "dev: {authorizer: Auth, token: t}", "dev: {authorizer: Auth, token: t",
			// The parser names line 10; the flow that is not closed starts on line 11, column 9.
			`case.yaml:11:9: did not find expected ',' or '}'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(base, tc.old, tc.new, 1)
			if src == base {
				t.Fatalf("%q is not in the base scenario", tc.old)
			}
			_, err := Parse("case.yaml", []byte(src))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			got := err.Error()
			if errs := Errors(nil); errors.As(err, &errs) {
				got = errs[0].Error()
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("first error:\n  %s\nwant:\n  %s", got, tc.want)
			}
		})
	}
}

// TestParseValid: the base scenario itself is fine, and undefined names are reported per
// variant.
func TestParseValid(t *testing.T) {
	t.Parallel()
	if _, err := Parse("case.yaml", []byte(base)); err != nil {
		t.Fatal(err)
	}
	withVariants := base + `variants:
  one: {}
  two:
    clients:
      other: {authorizer: Auth}
    steps:
      - connect: other
`
	if _, err := Parse("case.yaml", []byte(withVariants)); err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(withVariants, "  one: {}\n", "  one:\n    steps:\n      - connect: other\n", 1)
	_, err := Parse("case.yaml", []byte(broken))
	if want := `case.yaml:17:18: client "other" is not defined (variant one); defined: dev`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Parse: %v; want %s", err, want)
	}
}

// TestMergeKeys: YAML anchors and merge keys work in scenario files, and the schema checks
// what they bring in.
func TestMergeKeys(t *testing.T) {
	t.Parallel()
	src := strings.Replace(base, "dev: {authorizer: Auth, token: t}", "dev: &dev {authorizer: Auth, token: t}\n  dev2: {<<: *dev, protocl: mqtt311}", 1)
	_, err := Parse("case.yaml", []byte(src))
	if want := `case.yaml:12:20: clients.dev2: unknown key "protocl"`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Parse: %v; want %s", err, want)
	}
	src = strings.Replace(src, "protocl", "protocol", 1)
	scs, err := Parse("case.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c := scs[0].clients["dev2"]; c.Authorizer == nil || *c.Authorizer != "Auth" || c.Protocol != "mqtt311" {
		t.Fatalf("merged client: %+v", c)
	}
}

// TestSchemaKeywords: the validator refuses a schema keyword it does not implement, so the
// embedded schema cannot say more than what is checked.
func TestSchemaKeywords(t *testing.T) {
	t.Parallel()
	rootSchema() // panics if the embedded schema does not compile
	if _, err := compileSchema([]byte(`{"type": "object", "patternProperties": {"^x": {}}}`)); err == nil || !strings.Contains(err.Error(), "patternProperties") {
		t.Fatalf("compile: %v; want patternProperties refused", err)
	}
	if _, err := compileSchema([]byte(`{"$ref": "#/$defs/missing"}`)); err == nil {
		t.Fatal("a $ref to nothing compiled")
	}
}

// TestTemplate: the template `iotemu scenario new` prints is valid and passes.
func TestTemplate(t *testing.T) {
	t.Parallel()
	scs, err := Parse("template.yaml", Template())
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 2 {
		t.Fatalf("%d scenarios, want fixed and broken", len(scs))
	}
	for _, r := range (&Runner{}).Run(t.Context(), scs, nil) {
		if !r.Passed() {
			t.Errorf("%s: %s", r.Scenario.Name, r.Failure())
		}
	}
}
