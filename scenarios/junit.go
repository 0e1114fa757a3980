package scenarios

import (
	"io"
	"strings"
	"time"

	"github.com/iotemu/iotemu/internal/junit"
)

// JUnit XML, as CI systems read it: a testsuite per scenario file, a testcase per scenario.

// WriteJUnit writes the results as JUnit XML: a scenario that failed a step is a failure, one
// that could not run an error; the report of each is the problem's text, or for a passing
// scenario its output.
func WriteJUnit(w io.Writer, results []*Result, elapsed time.Duration) error {
	doc := junit.Suites{Name: "iotemu scenarios", Time: junit.Seconds(elapsed)}
	suites := map[string]int{}
	var times []time.Duration
	for _, r := range results {
		i, ok := suites[r.Scenario.File]
		if !ok {
			i = len(doc.Suites)
			suites[r.Scenario.File] = i
			doc.Suites = append(doc.Suites, junit.Suite{Name: r.Scenario.File})
			times = append(times, 0)
		}
		times[i] += r.Duration
		s := &doc.Suites[i]
		var report strings.Builder
		_ = WriteReport(&report, r) // a strings.Builder does not fail
		c := junit.Case{Name: r.Scenario.Name, ClassName: r.Scenario.File, Time: junit.Seconds(r.Duration)}
		switch {
		case r.Err != nil:
			c.Error = &junit.Problem{Message: r.Failure(), Type: "ScenarioError", Text: report.String()}
			s.Errors++
			doc.Errors++
		case !r.Passed():
			c.Failure = &junit.Problem{Message: r.Failure(), Type: "StepFailed", Text: report.String()}
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
		doc.Suites[i].Time = junit.Seconds(d)
	}
	return junit.Write(w, &doc)
}
