package scenarios

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteReport writes a result for people to read: a line for the scenario, a line per step
// with what was expected and what was seen, and for a failed scenario the emulator's log
// (AWS events, decision trace, function log lines).
func WriteReport(w io.Writer, r *Result) error {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "--- %s %s (%s) %s\n", verdict, r.Scenario.Name, r.Duration.Round(time.Millisecond), r.Scenario.File)
	if r.Err != nil {
		fmt.Fprintf(&b, "    error: %v\n", r.Err)
	}
	for _, s := range r.Steps {
		mark := "ok  "
		if !s.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "    %s %d %s (line %d): want %s; saw %s\n", mark, s.Index, s.Step, s.Line, s.Want, s.Saw)
	}
	if r.NotRun > 0 {
		fmt.Fprintf(&b, "    %d more step(s) not run\n", r.NotRun)
	}
	if r.Log != "" {
		b.WriteString("    emulator log (AWS events, decision trace, function log lines):\n")
		for line := range strings.Lines(r.Log) {
			b.WriteString("      " + line)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary says in one line how a run went.
func Summary(results []*Result, elapsed time.Duration) string {
	var failed []string
	for _, r := range results {
		if !r.Passed() {
			failed = append(failed, r.Scenario.Name)
		}
	}
	if len(failed) == 0 {
		return fmt.Sprintf("PASS: %d scenario(s) in %s", len(results), elapsed.Round(time.Millisecond))
	}
	return fmt.Sprintf("FAIL: %d of %d scenario(s) failed in %s: %s", len(failed), len(results), elapsed.Round(time.Millisecond), strings.Join(failed, ", "))
}
