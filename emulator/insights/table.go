package insights

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the result as the console shows it: a header of the fields, then one line
// per row, in aligned columns; a row without a field leaves its column empty.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.Fields, "\t"))
	rule := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		rule[i] = strings.Repeat("-", len(f))
	}
	fmt.Fprintln(tw, strings.Join(rule, "\t"))
	for _, row := range r.Rows {
		cells := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			v, _ := row.Get(f)
			cells[i] = strings.NewReplacer("\n", " ", "\t", " ").Replace(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// Records returns the rows as maps from field to value, for JSON output.
func (r *Result) Records() []map[string]string {
	out := make([]map[string]string, 0, len(r.Rows))
	for _, row := range r.Rows {
		m := make(map[string]string, len(row.Cells))
		for _, c := range row.Cells {
			m[c.Field] = c.Value
		}
		out = append(out, m)
	}
	return out
}
