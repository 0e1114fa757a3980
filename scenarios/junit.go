package scenarios

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JUnit XML, as CI systems read it: a testsuite per scenario file, a testcase per scenario.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as JUnit XML: a scenario that failed a step is a failure, one
// that could not run an error; the report of each is the problem's text, or for a passing
// scenario its output.
func WriteJUnit(w io.Writer, results []*Result, elapsed time.Duration) error {
	doc := junitSuites{Name: "iotemu scenarios", Time: seconds(elapsed)}
	suites := map[string]int{}
	var times []time.Duration
	for _, r := range results {
		i, ok := suites[r.Scenario.File]
		if !ok {
			i = len(doc.Suites)
			suites[r.Scenario.File] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: r.Scenario.File})
			times = append(times, 0)
		}
		times[i] += r.Duration
		s := &doc.Suites[i]
		var report strings.Builder
		_ = WriteReport(&report, r) // a strings.Builder does not fail
		c := junitCase{Name: r.Scenario.Name, ClassName: r.Scenario.File, Time: seconds(r.Duration)}
		switch {
		case r.Err != nil:
			c.Error = &junitProblem{Message: r.Failure(), Type: "ScenarioError", Text: report.String()}
			s.Errors++
			doc.Errors++
		case !r.Passed():
			c.Failure = &junitProblem{Message: r.Failure(), Type: "StepFailed", Text: report.String()}
			s.Failures++
			doc.Failures++
		default:
			c.SystemOut = report.String()
		}
		s.Tests++
		doc.Tests++
		s.Cases = append(s.Cases, c)
	}
	for i, d := range times {
		doc.Suites[i].Time = seconds(d)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
