package scenarios

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator/insights"
)

// queryStep runs a Logs Insights query, the troubleshooting guide's third step, and checks its
// rows: those given in rows, in order, each with at least the fields listed, and count rows
// when count is set.
type queryStep struct {
	Query  string              `yaml:"query"`
	Groups []string            `yaml:"groups"`
	Rows   []map[string]string `yaml:"rows"`
	Count  *int                `yaml:"count"`
	Within duration            `yaml:"within"`
}

// UnmarshalYAML parses the query, so that a syntax error is reported with the file's line.
func (s *queryStep) UnmarshalYAML(n *yaml.Node) error {
	type plain queryStep
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	if _, err := insights.Parse(s.Query); err != nil {
		at := posOf(n)
		return fmt.Errorf("line %d: query: %w", at.line, err)
	}
	return nil
}

func (s *queryStep) describe() string  { return "query " + s.Query }
func (s *queryStep) refs() []reference { return nil }

// run repeats the query until its rows are the expected ones or the wait ends: the events a
// step caused may still be on their way to the log.
func (s *queryStep) run(x *execution) outcome {
	want := s.want()
	deadline := time.Now().Add(s.Within.or(waitFor))
	for {
		res, err := x.emu.Query(s.Query, s.Groups...)
		if err != nil {
			return outcome{want: want, saw: err.Error()}
		}
		if s.matches(res) {
			return outcome{want: want, saw: rowsText(res), ok: true}
		}
		if !time.Now().Before(deadline) || x.ctx.Err() != nil {
			return outcome{want: want, saw: rowsText(res)}
		}
		select {
		case <-x.ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *queryStep) matches(res *insights.Result) bool {
	if s.Count != nil && len(res.Rows) != *s.Count {
		return false
	}
	if s.Rows == nil {
		return true
	}
	if len(res.Rows) != len(s.Rows) {
		return false
	}
	for i, fields := range s.Rows {
		for name, value := range fields {
			if v, ok := res.Rows[i].Get(name); !ok || v != value {
				return false
			}
		}
	}
	return true
}

func (s *queryStep) want() string {
	var parts []string
	if s.Count != nil {
		parts = append(parts, fmt.Sprintf("%d row(s)", *s.Count))
	}
	for i, r := range s.Rows {
		parts = append(parts, fmt.Sprintf("row %d with %v", i+1, r))
	}
	if parts == nil {
		return "the query runs"
	}
	return strings.Join(parts, "; ")
}

// rowsText lists a result's rows.
func rowsText(res *insights.Result) string {
	if len(res.Rows) == 0 {
		return "no rows"
	}
	lines := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		cells := make([]string, len(r.Cells))
		for j, c := range r.Cells {
			cells[j] = c.Field + "=" + c.Value
		}
		lines[i] = strings.Join(cells, " ")
	}
	return fmt.Sprintf("%d row(s):\n      %s", len(lines), strings.Join(lines, "\n      "))
}
