package authcheck

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/iotemu/iotemu/internal/junit"
)

// Severity orders findings in the report.
type Severity int

// The severities, most serious first.
const (
	// FailsOnAWS: AWS rejects the function's answer or gets none, so the device is refused.
	FailsOnAWS Severity = iota
	// DeniesDevice: AWS accepts the answer, but a device is denied something at run time.
	DeniesDevice
	// Warning: nothing is denied, but something is risky or slow.
	Warning
)

var severityTitles = [...]string{"would fail on AWS", "would deny a device at run time", "warnings"}

// String is the severity's heading in the report.
func (s Severity) String() string { return severityTitles[s] }

// MarshalText writes the severity as its short name.
func (s Severity) MarshalText() ([]byte, error) {
	return []byte([...]string{"fail", "deny", "warning"}[s]), nil
}

// Finding is one problem found.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code names the kind of problem, e.g. "invalid-answer" or "subscribe-on-topic".
	Code string `json:"code"`
	// Check is the check that found it (a Check's Name).
	Check string `json:"check"`
	// Title says what is wrong; Rule the AWS rule it rests on; Fix what to do.
	Title string `json:"title"`
	Rule  string `json:"rule"`
	Fix   string `json:"fix"`
	// Details are the facts behind it, one per line (which events, the decision trace).
	Details []string `json:"details,omitempty"`
}

// Check is one check that ran: an event shape, the policy lint, a library case, a topic.
type Check struct {
	Name     string        `json:"name"`
	Group    string        `json:"group"`
	Passed   bool          `json:"passed"`
	Skipped  string        `json:"skipped,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// Timing is the function's speed against AWS IoT's 5 s budget.
type Timing struct {
	Cold          time.Duration `json:"coldNs"`
	ColdTimedOut  bool          `json:"coldTimedOut"`
	WarmP50       time.Duration `json:"warmP50Ns"`
	WarmP99       time.Duration `json:"warmP99Ns"`
	Invocations   int           `json:"warmInvocations"`
	Budget        time.Duration `json:"budgetNs"`
	NeverAnswered bool          `json:"neverAnswered"`
}

// Report is the outcome of a check.
type Report struct {
	Function string        `json:"function"`
	Device   string        `json:"device"`
	Findings []Finding     `json:"findings"`
	Checks   []Check       `json:"checks"`
	Timing   Timing        `json:"timing"`
	Notes    []string      `json:"notes,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// Failed reports whether a finding is worse than a warning.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity < Warning })
}

// add records a finding, merging it into an earlier one of the same code and check group.
func (r *Report) add(f Finding) {
	for i := range r.Findings {
		g := &r.Findings[i]
		if g.Code == f.Code && g.Severity == f.Severity && group(g.Check) == group(f.Check) {
			if !slices.Contains(strings.Split(g.Check, ", "), f.Check) {
				g.Check += ", " + f.Check
			}
			g.Details = append(g.Details, f.Details...)
			return
		}
	}
	r.Findings = append(r.Findings, f)
}

// group is a check name's group: "event" for "event https-headers".
func group(check string) string { g, _, _ := strings.Cut(check, " "); return g }

// Summary is the report's last line.
func (r *Report) Summary() string {
	counts := [3]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %d would fail on AWS, %d would deny a device, %d warnings; %d checks in %s",
		verdict, counts[FailsOnAWS], counts[DeniesDevice], counts[Warning], len(r.Checks), r.Duration.Round(10*time.Millisecond))
}

// maxDetails bounds the detail lines printed per finding in the text report.
const maxDetails = 4

// WriteText writes the report for people: the findings grouped by severity, each with its
// rule and fix, then one line per group of checks and the summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "iotemu check: %s with %s\n", r.Function, r.Device)
	for s := FailsOnAWS; s <= Warning; s++ {
		var fs []Finding
		for _, f := range r.Findings {
			if f.Severity == s {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%d)\n", strings.ToUpper(s.String()[:1])+s.String()[1:], len(fs))
		for _, f := range fs {
			fmt.Fprintf(&b, "  ✗ [%s] %s\n", f.Check, f.Title)
			for i, d := range f.Details {
				if i == maxDetails {
					fmt.Fprintf(&b, "      ... %d more\n", len(f.Details)-maxDetails)
					break
				}
				fmt.Fprintf(&b, "      %s\n", d)
			}
			fmt.Fprintf(&b, "      rule: %s\n      fix:  %s\n", f.Rule, f.Fix)
		}
	}
	b.WriteString("\n")
	for _, g := range []string{"event", "policy", "library", "topics"} {
		passed, total, skipped := 0, 0, ""
		for _, c := range r.Checks {
			if c.Group == g {
				total++
				if c.Passed {
					passed++
				}
				skipped = cmp.Or(skipped, c.Skipped)
			}
		}
		switch {
		case skipped != "":
			fmt.Fprintf(&b, "%-8s skipped: %s\n", g, skipped)
		case total > 0:
			fmt.Fprintf(&b, "%-8s %d of %d passed\n", g, passed, total)
		}
	}
	t := r.Timing
	switch {
	case t.NeverAnswered:
		fmt.Fprintf(&b, "timing   no answer within %s\n", t.Budget)
	case t.Invocations > 0:
		cold := ms(t.Cold)
		if t.ColdTimedOut {
			cold = "over " + t.Budget.String()
		}
		fmt.Fprintf(&b, "timing   cold start %s; warm p50 %s, p99 %s over %d invocations (AWS allows %s)\n", cold, ms(t.WarmP50), ms(t.WarmP99), t.Invocations, t.Budget)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note     %s\n", n)
	}
	b.WriteString(r.Summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteJUnit writes the checks as JUnit XML for CI: one suite per group, one case per check,
// the findings as failures of the checks that found them.
func (r *Report) WriteJUnit(w io.Writer) error {
	doc := junit.Suites{Name: "iotemu check", Time: junit.Seconds(r.Duration)}
	suites := map[string]int{}
	for _, c := range r.Checks {
		i, ok := suites[c.Group]
		if !ok {
			i = len(doc.Suites)
			suites[c.Group] = i
			doc.Suites = append(doc.Suites, junit.Suite{Name: "iotemu check " + c.Group})
		}
		s := &doc.Suites[i]
		jc := junit.Case{Name: c.Name, ClassName: s.Name, Time: junit.Seconds(c.Duration)}
		if c.Skipped != "" {
			jc.Skipped = &struct{}{}
			s.Skipped++
			doc.Skipped++
		}
		for _, f := range r.Findings {
			if f.Severity < Warning && slices.Contains(strings.Split(f.Check, ", "), c.Name) {
				text := strings.Join(append(slices.Clone(f.Details), "rule: "+f.Rule, "fix: "+f.Fix), "\n")
				jc.Failure = &junit.Problem{Message: f.Title, Type: f.Code, Text: text}
			}
		}
		if jc.Failure != nil {
			s.Failures++
			doc.Failures++
		}
		s.Tests++
		doc.Tests++
		s.Cases = append(s.Cases, jc)
	}
	return junit.Write(w, &doc)
}
