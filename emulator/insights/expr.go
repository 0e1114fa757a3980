package insights

import (
	"strconv"
	"strings"
	"time"
)

// Expression grammar, loosest first:
//
//	or:         and {"or" and}
//	and:        not {"and" not}
//	not:        "not" not | comparison
//	comparison: sum [("=" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "like" (string | regex)
//	            | "=~" regex | ["not"] "in" "[" sum {"," sum} "]"]
//	sum:        product {("+" | "-") product}
//	product:    unary {("*" | "/" | "%") unary}
//	unary:      "-" unary | primary
//	primary:    number | string | field | function "(" [args] ")" | "(" or ")"
func (p *parser) expr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		t := p.lex.peek()
		return nil, p.lex.errorAt(t.pos, t.end, "an expression nested less deeply", t.describe())
	}
	return p.or()
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.lex.peek().is("or") {
		p.lex.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = binary{op: "or", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) and() (expr, error) {
	l, err := p.not()
	for err == nil && p.lex.peek().is("and") {
		p.lex.next()
		var r expr
		if r, err = p.not(); err == nil {
			l = binary{op: "and", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) not() (expr, error) {
	if p.lex.peek().is("not") {
		p.lex.next()
		e, err := p.not()
		return notExpr{e: e}, err
	}
	return p.comparison()
}

func (p *parser) comparison() (expr, error) {
	l, err := p.sum()
	if err != nil {
		return nil, err
	}
	t := p.lex.peek()
	negate := false
	if t.is("not") {
		p.lex.next()
		negate = true
		t = p.lex.peek()
		if !t.is("like") && !t.is("in") {
			return nil, p.fail(t, `"like" or "in" after "not"`)
		}
	}
	switch {
	case t.is("=") || t.is("==") || t.is("!=") || t.is("<") || t.is("<=") || t.is(">") || t.is(">="):
		p.lex.next()
		r, err := p.sum()
		op := t.text
		if op == "==" {
			op = "="
		}
		return binary{op: op, l: l, r: r}, err
	case t.is("like"):
		p.lex.next()
		if re, ok := p.lex.regex(); ok {
			c, err := p.compile(re)
			return likeExpr{e: l, re: c, negate: negate}, err
		}
		s := p.lex.next()
		if s.kind != tokString {
			return nil, p.fail(s, `a string or /regex/ after "like"`)
		}
		return likeExpr{e: l, substr: s.text, negate: negate}, nil
	case t.is("=~"):
		p.lex.next()
		re, ok := p.lex.regex()
		if !ok {
			return nil, p.fail(re, `a /regex/ after "=~"`)
		}
		c, err := p.compile(re)
		return likeExpr{e: l, re: c}, err
	case t.is("in"):
		p.lex.next()
		if err := p.expect("[", `"[" after "in"`); err != nil {
			return nil, err
		}
		in := inExpr{e: l, negate: negate}
		for {
			v, err := p.sum()
			if err != nil {
				return nil, err
			}
			in.list = append(in.list, v)
			if n := p.lex.next(); n.is("]") {
				return in, nil
			} else if !n.is(",") {
				return nil, p.fail(n, `"," or "]"`)
			}
		}
	}
	return l, nil
}

func (p *parser) sum() (expr, error) {
	l, err := p.product()
	for err == nil && (p.lex.peek().is("+") || p.lex.peek().is("-")) {
		op := p.lex.next().text
		var r expr
		if r, err = p.product(); err == nil {
			l = binary{op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) product() (expr, error) {
	l, err := p.unary()
	for err == nil && (p.lex.peek().is("*") || p.lex.peek().is("/") || p.lex.peek().is("%")) {
		op := p.lex.next().text
		var r expr
		if r, err = p.unary(); err == nil {
			l = binary{op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) unary() (expr, error) {
	if p.lex.peek().is("-") {
		p.lex.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			t := p.lex.peek()
			return nil, p.lex.errorAt(t.pos, t.end, "an expression nested less deeply", t.describe())
		}
		e, err := p.unary()
		return negExpr{e: e}, err
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	t := p.lex.next()
	switch {
	case t.kind == tokNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.fail(t, "a number")
		}
		return literal{v: num(f)}, nil
	case t.kind == tokString:
		return literal{v: str(t.text)}, nil
	case t.is("("):
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return e, p.expect(")", `")"`)
	case t.kind == tokIdent && !isKeyword(t.text):
		if !p.lex.peek().is("(") {
			return p.ref(t.text), nil
		}
		return p.call(t)
	}
	return nil, p.fail(t, "a field, a value or a function")
}

func (p *parser) call(name token) (expr, error) {
	fn, ok := functions[strings.ToLower(name.text)]
	if !ok {
		if aggregates[strings.ToLower(name.text)] {
			return nil, p.fail(name, "a function usable outside stats (aggregates go in stats)")
		}
		return nil, p.fail(name, "a known function")
	}
	p.lex.next() // (
	c := call{fn: fn}
	if fn.period {
		// bin(5m): the argument is a period, a number with a unit.
		t := p.lex.next()
		d, ok := parsePeriod(t.text)
		if t.kind != tokNumber || !ok {
			return nil, p.fail(t, "a period such as 30s, 5m, 1h or 1d")
		}
		c.args = []expr{literal{v: num(float64(d.Milliseconds()))}}
		return c, p.expect(")", `")"`)
	}
	for !p.lex.peek().is(")") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, e)
		if !p.lex.peek().is(",") {
			break
		}
		p.lex.next()
	}
	if t := p.lex.next(); !t.is(")") {
		return nil, p.fail(t, `"," or ")"`)
	}
	if len(c.args) < fn.minArgs || fn.maxArgs >= 0 && len(c.args) > fn.maxArgs {
		return nil, p.lex.errorAt(name.pos, name.end, fn.arity(), name.text+" with "+strconv.Itoa(len(c.args))+" arguments")
	}
	return c, nil
}

// parsePeriod reads bin's period. AWS: units ms, s, m, h, d, w, mo, q, y (months, quarters and
// years taken here as 30, 91 and 365 days).
func parsePeriod(s string) (time.Duration, bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n <= 0 || n > 1e6 {
		return 0, false
	}
	unit := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "mo": 30 * 24 * time.Hour, "q": 91 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
	}[strings.ToLower(s[i:])]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
