package insights

import (
	"math"
	"strconv"
	"strings"
)

// function is a scalar function usable in fields, filter, sort and stats ... by.
type function struct {
	name             string
	minArgs, maxArgs int  // maxArgs < 0: any number
	period           bool // the one argument is a period (bin)
	eval             func(r *row, args []value) value
}

func (f *function) arity() string {
	switch {
	case f.minArgs == f.maxArgs:
		return f.name + " with " + strconv.Itoa(f.minArgs) + " argument(s)"
	case f.maxArgs < 0:
		return f.name + " with at least " + strconv.Itoa(f.minArgs) + " argument(s)"
	}
	return f.name + " with " + strconv.Itoa(f.minArgs) + " to " + strconv.Itoa(f.maxArgs) + " arguments"
}

// aggregates are the functions stats computes over each group.
var aggregates = map[string]bool{"count": true, "count_distinct": true, "min": true, "max": true, "avg": true, "sum": true}

// functions are the scalar functions, by lower-case name. AWS: CloudWatch Logs Insights'
// general, string, numeric and datetime functions of the same names.
var functions = map[string]*function{}

func init() {
	for _, f := range []*function{
		{name: "ispresent", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return boolean(a[0].kind != kindNull) }},
		{name: "isempty", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return boolean(a[0].String() == "") }},
		{name: "isblank", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return boolean(strings.TrimSpace(a[0].String()) == "") }},
		{name: "strlen", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value {
			return onString(a[0], func(s string) value { return num(float64(len([]rune(s)))) })
		}},
		{name: "tolower", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value {
			return onString(a[0], func(s string) value { return str(strings.ToLower(s)) })
		}},
		{name: "toupper", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value {
			return onString(a[0], func(s string) value { return str(strings.ToUpper(s)) })
		}},
		{name: "trim", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value {
			return onString(a[0], func(s string) value { return str(strings.TrimSpace(s)) })
		}},
		{name: "concat", minArgs: 1, maxArgs: -1, eval: concat},
		{name: "coalesce", minArgs: 1, maxArgs: -1, eval: coalesce},
		{name: "abs", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return onNumber(a[0], math.Abs) }},
		{name: "ceil", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return onNumber(a[0], math.Ceil) }},
		{name: "floor", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return onNumber(a[0], math.Floor) }},
		{name: "tomillis", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value { return onNumber(a[0], func(f float64) float64 { return f }) }},
		{name: "frommillis", minArgs: 1, maxArgs: 1, eval: func(_ *row, a []value) value {
			if f, ok := a[0].number(); ok {
				return timeMillis(int64(f))
			}
			return null
		}},
		// AWS: bin(period) rounds @timestamp down to the period.
		{name: "bin", minArgs: 1, maxArgs: 1, period: true, eval: func(r *row, a []value) value {
			ts := r.get("@timestamp")
			if ts.kind == kindNull || a[0].num <= 0 {
				return null
			}
			return timeMillis(int64(math.Floor(ts.num/a[0].num) * a[0].num))
		}},
	} {
		functions[f.name] = f
	}
}

func onString(v value, f func(string) value) value {
	if v.kind == kindNull {
		return null
	}
	return f(v.String())
}

func onNumber(v value, f func(float64) float64) value {
	if n, ok := v.number(); ok {
		return num(f(n))
	}
	return null
}

func concat(_ *row, a []value) value {
	var b strings.Builder
	for _, v := range a {
		b.WriteString(v.String())
	}
	return str(b.String())
}

func coalesce(_ *row, a []value) value {
	for _, v := range a {
		if v.kind != kindNull {
			return v
		}
	}
	return null
}

func (f fieldRef) eval(r *row) value { return r.get(f.name) }
func (l literal) eval(*row) value    { return l.v }
func (n notExpr) eval(r *row) value  { return boolean(!n.e.eval(r).truthy()) }

func (n negExpr) eval(r *row) value {
	return onNumber(n.e.eval(r), func(f float64) float64 { return -f })
}

func (c call) eval(r *row) value {
	args := make([]value, len(c.args))
	for i, a := range c.args {
		args[i] = a.eval(r)
	}
	return c.fn.eval(r, args)
}

func (b binary) eval(r *row) value {
	switch b.op {
	case "and":
		return boolean(b.l.eval(r).truthy() && b.r.eval(r).truthy())
	case "or":
		return boolean(b.l.eval(r).truthy() || b.r.eval(r).truthy())
	}
	l, rv := b.l.eval(r), b.r.eval(r)
	switch b.op {
	case "=", "!=", "<", "<=", ">", ">=":
		c, ok := compare(l, rv)
		if !ok {
			return boolean(false) // AWS (inferred): a missing field matches no comparison
		}
		return boolean(map[string]bool{"=": c == 0, "!=": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[b.op])
	}
	x, okx := l.number()
	y, oky := rv.number()
	if !okx || !oky {
		return null
	}
	switch b.op {
	case "+":
		return num(x + y)
	case "-":
		return num(x - y)
	case "*":
		return num(x * y)
	case "/":
		if y == 0 {
			return null
		}
		return num(x / y)
	default: // %
		if y == 0 {
			return null
		}
		return num(math.Mod(x, y))
	}
}

func (l likeExpr) eval(r *row) value {
	v := l.e.eval(r)
	if v.kind == kindNull {
		return boolean(false)
	}
	s := v.String()
	var m bool
	if l.re != nil {
		m = l.re.MatchString(s)
		// AWS: like with a string matches it as a substring; with a /regex/, the regex anywhere.
	} else {
		m = strings.Contains(s, l.substr)
	}
	return boolean(m != l.negate)
}

func (in inExpr) eval(r *row) value {
	v := in.e.eval(r)
	if v.kind == kindNull {
		return boolean(false)
	}
	for _, e := range in.list {
		if c, ok := compare(v, e.eval(r)); ok && c == 0 {
			return boolean(!in.negate)
		}
	}
	return boolean(in.negate)
}
