package insights

import "strings"

// acc accumulates one aggregate over one group.
type acc struct {
	n        int
	sum      float64
	nums     int
	min, max value
	distinct map[string]bool
}

func (a *acc) add(fn string, v value, countAll bool) {
	if countAll {
		a.n++
		return
	}
	if v.kind == kindNull {
		return
	}
	a.n++
	switch fn {
	case "sum", "avg":
		if f, ok := v.number(); ok {
			a.sum += f
			a.nums++
		}
	case "min":
		if a.min.kind == kindNull || sortCompare(v, a.min) < 0 {
			a.min = v
		}
	case "max":
		if a.max.kind == kindNull || sortCompare(v, a.max) > 0 {
			a.max = v
		}
	case "count_distinct":
		if a.distinct == nil {
			a.distinct = map[string]bool{}
		}
		a.distinct[v.String()] = true
	}
}

func (a *acc) result(fn string) value {
	switch fn {
	case "count":
		return num(float64(a.n))
	case "count_distinct":
		return num(float64(len(a.distinct)))
	case "sum":
		if a.nums == 0 {
			return null
		}
		return num(a.sum)
	case "avg":
		if a.nums == 0 {
			return null
		}
		return num(a.sum / float64(a.nums))
	case "min":
		return a.min
	}
	return a.max
}

type group struct {
	by   []value
	accs []acc
}

// run groups rows by the by expressions, in the order groups first appear, and returns one
// row per group holding its by values and aggregates.
func (c statsCmd) run(rows []*row) []*row {
	groups := map[string]*group{}
	var order []*group
	for _, r := range rows {
		by := make([]value, len(c.by))
		var key strings.Builder
		for i, b := range c.by {
			by[i] = b.e.eval(r)
			key.WriteByte(byte(by[i].kind))
			key.WriteString(by[i].String())
			key.WriteByte(0)
		}
		g := groups[key.String()]
		if g == nil {
			g = &group{by: by, accs: make([]acc, len(c.aggs))}
			groups[key.String()] = g
			order = append(order, g)
		}
		for i, a := range c.aggs {
			var v value
			if a.arg != nil {
				v = a.arg.eval(r)
			}
			g.accs[i].add(a.fn, v, a.arg == nil)
		}
	}
	out := make([]*row, 0, len(order))
	for _, g := range order {
		r := &row{idx: -1}
		for i, b := range c.by {
			r.put(b.name, g.by[i])
		}
		for i, a := range c.aggs {
			r.put(a.name, g.accs[i].result(a.fn))
		}
		out = append(out, r)
	}
	return out
}

// columns are the by fields then the aggregates. AWS (inferred): the console shows the
// grouping fields first.
func (c statsCmd) columns() []string {
	var cols []string
	for _, b := range c.by {
		cols = append(cols, b.name)
	}
	for _, a := range c.aggs {
		cols = append(cols, a.name)
	}
	return cols
}
