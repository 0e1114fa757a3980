package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarioCommands: new writes a template that run passes, with JUnit output; a failing
// scenario is errScenariosFailed (exit status 1); a file with a mistake is refused with its
// position; list shows the library.
func TestScenarioCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := scenario(ctx, []string{"new", "-w", "mine"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := scenario(ctx, []string{"run", "mine.yaml", "--junit", "out.xml"}, &out, &errOut); err != nil {
		t.Fatalf("the template fails: %v\n%s", err, out.String())
	}
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if data, err := os.ReadFile("out.xml"); err != nil || xml.Unmarshal(data, &junit) != nil || junit.Tests != 2 || junit.Failures != 0 {
		t.Fatalf("JUnit file: %v %+v", err, junit)
	}

	tmpl, _ := os.ReadFile("mine.yaml")
	failing := bytes.Replace(tmpl, []byte(`devices/other/telemetry, payload: "{}", expect: {result: refused, puback: 0x87}`), []byte(`devices/other/telemetry, payload: "{}"`), 1)
	if err := os.WriteFile("failing.yaml", failing, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := scenario(ctx, []string{"run", "-q", "failing.yaml"}, &out, &errOut)
	if !errors.Is(err, errScenariosFailed) || !strings.Contains(out.String(), "--- FAIL failing/broken") || strings.Contains(out.String(), "--- PASS") {
		t.Fatalf("failing scenario: %v\n%s", err, out.String())
	}

	before, _, _ := bytes.Cut(tmpl, []byte("    token: device-token"))
	line := bytes.Count(before, []byte("\n")) + 1
	typo := bytes.Replace(tmpl, []byte("    token: device-token"), []byte("    tokn: device-token"), 1)
	if err := os.WriteFile("typo.yaml", typo, 0o644); err != nil {
		t.Fatal(err)
	}
	err = scenario(ctx, []string{"run", "typo.yaml"}, &out, &errOut)
	want := fmt.Sprintf(`typo.yaml:%d:5: clients.device: unknown key "tokn" (did you mean "token"?)`, line)
	if err == nil || errors.Is(err, errScenariosFailed) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("misspelled key: %v", err)
	}

	out.Reset()
	if err := scenario(ctx, []string{"run", "failing.yaml", "-run", "fixed$"}, &out, &errOut); err != nil || strings.Contains(out.String(), "broken") {
		t.Fatalf("-run fixed$: %v\n%s", err, out.String())
	}

	out.Reset()
	if err := scenario(ctx, []string{"list"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "no-sni/broken") {
		t.Fatalf("list: %v\n%s", err, out.String())
	}
}

// allowScenario is refused by its own static function; the example authorizer, which accepts
// the token "allow", connects it.
const allowScenario = `description: the example authorizer accepts the token allow
setup:
  authorizers:
    Auth: {function: authorizer, tokenKeyName: token, signingDisabled: true}
  functions:
    authorizer:
      response: {isAuthenticated: false}
clients:
  device: {authorizer: Auth, token: allow}
steps:
  - connect: device
  - publish: {client: device, topic: devices/device/state, payload: "{}"}
`

// TestScenarioRunWithFunction: --function NAME=PATH runs the scenarios against a real
// aws-lambda-go executable instead of their own function.
func TestScenarioRunWithFunction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/authorizer")
	}
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-o", bootstrap, "../../examples/authorizer")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	file := filepath.Join(dir, "allow.yaml")
	if err := os.WriteFile(file, []byte(allowScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := scenario(ctx, []string{"run", file}, &out, &errOut); !errors.Is(err, errScenariosFailed) {
		t.Fatalf("with its own function: %v, want a failure", err)
	}
	out.Reset()
	if err := scenario(ctx, []string{"run", "--function", "authorizer=" + bootstrap, file}, &out, &errOut); err != nil {
		t.Fatalf("with the example authorizer: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "function authorizer is "+bootstrap+" in 1 scenario(s)") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := scenario(ctx, []string{"run", "--function", "nosuch=" + bootstrap, file}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no scenario has a function nosuch") {
		t.Errorf("unknown function: %v", err)
	}
}
