package scenarios

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// passAndFail has a variant that passes and one that fails its second step.
const passAndFail = `description: one passes, one fails
setup:
  authorizers:
    Auth: {function: fn, signingDisabled: true}
  defaultAuthorizer: Auth
  functions:
    fn:
      response:
        isAuthenticated: true
        principalId: p1
        policyDocuments: [{Statement: [{Effect: Allow, Action: iot:Connect, Resource: "*"}]}]
clients:
  dev: {}
variants:
  passes:
    steps:
      - connect: dev
  fails:
    steps:
      - connect: dev
      - publish: {client: dev, topic: t}
`

// TestJUnit writes the results of a run as JUnit XML and reads them back.
func TestJUnit(t *testing.T) {
	t.Parallel()
	scs, err := Parse("pass-and-fail.yaml", []byte(passAndFail))
	if err != nil {
		t.Fatal(err)
	}
	results := (&Runner{}).Run(t.Context(), scs, nil)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, results, time.Second); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || doc.Suites[0].Tests != 2 || doc.Suites[0].Failures != 1 {
		t.Fatalf("counts: %+v\n%s", doc, buf.String())
	}
	cases := doc.Suites[0].Cases
	if doc.Suites[0].Name != "pass-and-fail.yaml" || cases[0].Name != "pass-and-fail/passes" || cases[0].Failure != nil {
		t.Errorf("suite %q, first case %+v", doc.Suites[0].Name, cases[0])
	}
	f := cases[1].Failure
	if f == nil || !strings.Contains(f.Message, "step 2 (pass-and-fail.yaml:21) publish dev to t (QoS 1): want accepted; saw refused with PUBACK 0x87") ||
		!strings.Contains(f.Text, "decision trace") || !strings.Contains(f.Text, "iot:Publish") {
		t.Errorf("failure of %s: %+v", cases[1].Name, f)
	}
}

// TestRun runs a scenario file from a Go test, as users do.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(file, Template(), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(t, file)
}
