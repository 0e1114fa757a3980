package insights

import (
	"slices"
	"strings"
)

// MaxResults is the most rows a query returns, and the limit when it sets none. AWS: a query
// returns at most 10,000 rows; limit takes 1 to 10,000.
const MaxResults = 10000

// Result is what a query returns.
type Result struct {
	// Fields are the result's columns, in order.
	Fields []string
	// Rows hold, for each result row, the fields that have a value, in the order of Fields.
	Rows []Row
	// RecordsScanned is how many events the query read; RecordsMatched how many passed its
	// filters (before limit).
	RecordsScanned, RecordsMatched int
}

// Row is one result row.
type Row struct {
	Cells []Cell
	// Event is the index, in the events the query ran over, of the event the row comes
	// from; -1 for a row stats made.
	Event int
}

// Cell is one field of a result row.
type Cell struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Get returns the value of field in the row, and whether it has one.
func (r Row) Get(field string) (string, bool) {
	for _, c := range r.Cells {
		if c.Field == field {
			return c.Value, true
		}
	}
	return "", false
}

// row is a row of the pipeline: an event's fields and the fields commands set.
type row struct {
	rec *record // nil for rows made by stats
	set map[string]value
	idx int
}

func (r *row) get(name string) value {
	if v, ok := r.set[name]; ok {
		return v
	}
	if r.rec == nil {
		return null
	}
	return r.rec.get(name)
}

func (r *row) put(name string, v value) {
	if r.set == nil {
		r.set = map[string]value{}
	}
	r.set[name] = v
}

// Run runs the query over events, in their order, and returns its result.
func (q *Query) Run(events []Event) *Result {
	rows := make([]*row, len(events))
	recs := make([]record, len(events))
	backing := make([]row, len(events))
	for i := range events {
		recs[i].ev, recs[i].wanted = &events[i], q.fields
		backing[i] = row{rec: &recs[i], idx: i}
		rows[i] = &backing[i]
	}
	res := &Result{RecordsScanned: len(events)}
	var columns []string // nil: the default columns
	limit := MaxResults
	matched := -1 // rows that passed the filters, before stats or the first limit
	for _, c := range q.commands {
		switch c := c.(type) {
		case fieldsCmd:
			if c.display {
				columns = columns[:0:0]
			}
			for _, it := range c.items {
				if !c.display {
					if _, isField := it.e.(fieldRef); !isField || it.name != it.e.(fieldRef).name {
						for _, r := range rows {
							r.put(it.name, it.e.eval(r))
						}
					}
				}
				if !slices.Contains(columns, it.name) {
					columns = append(columns, it.name)
				}
			}
			if c.display {
				// AWS: display shows only its fields, whatever fields said before.
				columns = slices.Clip(columns)
			}
		case filterCmd:
			rows = slices.DeleteFunc(rows, func(r *row) bool { return !c.cond.eval(r).truthy() })
		case sortCmd:
			rows = c.sort(rows)
		case limitCmd:
			if matched < 0 {
				matched = len(rows)
			}
			limit = min(limit, c.n)
			rows = rows[:min(len(rows), c.n)]
		case statsCmd:
			if matched < 0 {
				matched = len(rows)
			}
			rows, columns = c.run(rows), c.columns()
		case parseCmd:
			for _, r := range rows {
				v := c.from.eval(r)
				m := c.re.FindStringSubmatch(v.String())
				for i, name := range c.names {
					if m != nil && v.kind != kindNull {
						r.put(name, str(m[i+1]))
					} else {
						r.put(name, null)
					}
				}
			}
		case dedupCmd:
			rows = dedup(rows, c.fields)
		}
	}
	if matched < 0 {
		matched = len(rows)
	}
	res.RecordsMatched = matched
	if columns == nil {
		columns = []string{"@timestamp", "@message"} // AWS (inferred): a query without fields shows these
	}
	res.Fields = columns
	for _, r := range rows[:min(len(rows), limit)] {
		out := Row{Event: -1}
		if r.rec != nil {
			out.Event = r.idx
		}
		for _, f := range columns {
			if v := r.get(f); v.kind != kindNull {
				out.Cells = append(out.Cells, Cell{Field: f, Value: v.String()})
			}
		}
		res.Rows = append(res.Rows, out)
	}
	return res
}

// dedup keeps the first row of each combination of the fields' values. AWS: rows where any
// of the fields is null are kept, never taken as duplicates.
func dedup(rows []*row, fields []expr) []*row {
	seen := map[string]bool{}
	return slices.DeleteFunc(rows, func(r *row) bool {
		var key strings.Builder
		for _, f := range fields {
			v := f.eval(r)
			if v.kind == kindNull {
				return false
			}
			key.WriteString(v.String())
			key.WriteByte(0)
		}
		if seen[key.String()] {
			return true
		}
		seen[key.String()] = true
		return false
	})
}

// sort orders rows by the keys, stably; each key is evaluated once per row.
func (c sortCmd) sort(rows []*row) []*row {
	n := len(c.keys)
	type keyed struct {
		r    *row
		keys []value
	}
	all := make([]value, len(rows)*n)
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		ks[i] = keyed{r: r, keys: all[i*n : (i+1)*n]}
		for j, k := range c.keys {
			ks[i].keys[j] = k.e.eval(r)
		}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		for j, k := range c.keys {
			d := sortCompare(a.keys[j], b.keys[j])
			if k.desc {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return 0
	})
	for i := range ks {
		rows[i] = ks[i].r
	}
	return rows
}
