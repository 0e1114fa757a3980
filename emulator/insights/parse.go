package insights

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxQueryLength is the longest query accepted. AWS: StartQuery's queryString is at most
// 10,000 characters.
const MaxQueryLength = 10000

// maxDepth bounds the nesting of expressions, so that no query can exhaust the stack.
const maxDepth = 64

// Query is a parsed Logs Insights query.
type Query struct {
	src      string
	commands []command
	// fields are the fields the query names: only these are looked for in messages.
	fields map[string]bool
}

// String returns the query's text.
func (q *Query) String() string { return q.src }

// Parse parses a Logs Insights query. Its error is a *SyntaxError saying where the query
// stops making sense and what was expected there.
func Parse(src string) (*Query, error) {
	if len(src) > MaxQueryLength {
		return nil, &SyntaxError{Line: 1, Column: 1, Offset: MaxQueryLength, End: len(src), Expected: fmt.Sprintf("a query of at most %d characters", MaxQueryLength), Found: fmt.Sprintf("%d characters", len(src))}
	}
	p := &parser{lex: lexer{src: src}, fields: map[string]bool{}}
	if !utf8.ValidString(src) {
		i := 0
		for r, size := utf8.DecodeRuneInString(src); r != utf8.RuneError || size != 1; r, size = utf8.DecodeRuneInString(src[i:]) {
			i += size
		}
		return nil, p.lex.errorAt(i, i+1, "UTF-8 text", fmt.Sprintf("byte %#x", src[i]))
	}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	return q, nil
}

type parser struct {
	lex    lexer
	depth  int
	fields map[string]bool // every field the query names
}

// ref returns a reference to a field and notes that the query reads it.
func (p *parser) ref(name string) fieldRef {
	p.fields[name] = true
	return fieldRef{name: name}
}

// fail returns the syntax error at t, or the lexer's if it found one first.
func (p *parser) fail(t token, expected string) error {
	if p.lex.err != nil {
		return p.lex.err
	}
	return p.lex.errorAt(t.pos, t.end, expected, t.describe())
}

func (p *parser) expect(op, expected string) error {
	if t := p.lex.next(); !t.is(op) {
		return p.fail(t, expected)
	}
	return nil
}

func (p *parser) query() (*Query, error) {
	q := &Query{src: p.lex.src, fields: p.fields}
	for {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		q.commands = append(q.commands, c)
		t := p.lex.next()
		switch {
		case t.kind == tokEOF && p.lex.err == nil:
			return q, nil
		case !t.is("|"):
			return nil, p.fail(t, `"|" or the end of the query`)
		}
	}
}

const commandNames = "fields, display, filter, stats, sort, limit, parse or dedup"

func (p *parser) command() (command, error) {
	t := p.lex.next()
	if t.kind != tokIdent {
		return nil, p.fail(t, "a command ("+commandNames+")")
	}
	switch strings.ToLower(t.text) {
	case "fields", "display":
		items, err := p.namedList(true)
		return fieldsCmd{items: items, display: strings.EqualFold(t.text, "display")}, err
	case "filter":
		e, err := p.expr()
		return filterCmd{cond: e}, err
	case "sort":
		return p.sort()
	case "limit":
		n := p.lex.next()
		v, err := strconv.Atoi(n.text)
		// AWS: limit takes 1 to 10,000.
		if n.kind != tokNumber || err != nil || v < 1 || v > MaxResults {
			return nil, p.fail(n, fmt.Sprintf("a number of results from 1 to %d", MaxResults))
		}
		return limitCmd{n: v}, nil
	case "stats":
		return p.stats()
	case "parse":
		return p.parse()
	case "dedup":
		var c dedupCmd
		for {
			f, err := p.field()
			if err != nil {
				return nil, err
			}
			c.fields = append(c.fields, f)
			if !p.lex.peek().is(",") {
				return c, nil
			}
			p.lex.next()
		}
	}
	return nil, p.fail(t, "a command ("+commandNames+")")
}

// namedList parses "expr [as name], ...".
func (p *parser) namedList(aliases bool) ([]named, error) {
	var out []named
	for {
		start := p.lex.peek().pos
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		n := named{e: e, name: p.text(start)}
		if f, ok := e.(fieldRef); ok {
			n.name = f.name
		}
		if aliases && p.lex.peek().is("as") {
			p.lex.next()
			a := p.lex.next()
			if a.kind != tokIdent {
				return nil, p.fail(a, "a name after as")
			}
			n.name = a.text
		}
		out = append(out, n)
		if !p.lex.peek().is(",") {
			return out, nil
		}
		p.lex.next()
	}
}

// text returns the query's text from start to the end of the last token read, trimmed.
func (p *parser) text(start int) string {
	end := p.lex.pos
	if p.lex.peeked != nil {
		end = p.lex.peeked.pos
	}
	return strings.TrimSpace(p.lex.src[start:end])
}

func (p *parser) field() (expr, error) {
	t := p.lex.next()
	if t.kind != tokIdent || isKeyword(t.text) {
		return nil, p.fail(t, "a field name")
	}
	return p.ref(t.text), nil
}

func (p *parser) sort() (command, error) {
	var c sortCmd
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		k := sortKey{e: e}
		switch t := p.lex.peek(); {
		case t.is("desc"):
			k.desc = true
			p.lex.next()
		case t.is("asc"):
			p.lex.next()
		}
		c.keys = append(c.keys, k)
		if !p.lex.peek().is(",") {
			return c, nil
		}
		p.lex.next()
	}
}

func (p *parser) stats() (command, error) {
	var c statsCmd
	for {
		start := p.lex.peek().pos
		t := p.lex.next()
		fn := strings.ToLower(t.text)
		if t.kind != tokIdent || !aggregates[fn] {
			return nil, p.fail(t, "an aggregate function (count, count_distinct, min, max, avg, sum)")
		}
		if err := p.expect("(", `"(" after `+t.text); err != nil {
			return nil, err
		}
		a := aggregate{fn: fn}
		if fn == "count" && p.lex.peek().is("*") {
			p.lex.next()
		} else if fn == "count" && p.lex.peek().is(")") {
			// count() counts every row, as count(*).
		} else {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			a.arg = e
		}
		if err := p.expect(")", `")"`); err != nil {
			return nil, err
		}
		a.name = p.text(start)
		if p.lex.peek().is("as") {
			p.lex.next()
			n := p.lex.next()
			if n.kind != tokIdent {
				return nil, p.fail(n, "a name after as")
			}
			a.name = n.text
		}
		c.aggs = append(c.aggs, a)
		if !p.lex.peek().is(",") {
			break
		}
		p.lex.next()
	}
	if p.lex.peek().is("by") {
		p.lex.next()
		by, err := p.namedList(true)
		if err != nil {
			return nil, err
		}
		c.by = by
	}
	return c, nil
}

// parse reads "parse [field] "glob" as a, b" or "parse [field] /regex/".
func (p *parser) parse() (command, error) {
	c := parseCmd{from: fieldRef{name: "@message"}}
	if t := p.lex.peek(); t.kind == tokIdent && !isKeyword(t.text) {
		p.lex.next()
		c.from = p.ref(t.text)
	}
	if re, ok := p.lex.regex(); ok {
		compiled, err := p.compile(re)
		if err != nil {
			return nil, err
		}
		for _, n := range compiled.SubexpNames()[1:] {
			c.names = append(c.names, n)
		}
		if compiled.NumSubexp() == 0 || slicesContain(c.names, "") {
			return nil, p.lex.errorAt(re.pos, re.end, "a regex whose groups are all named (?<name>...)", re.describe())
		}
		c.re = compiled
		return c, nil
	}
	glob := p.lex.next()
	if glob.kind != tokString {
		return nil, p.fail(glob, `a pattern ("...*..." or /regex/)`)
	}
	if err := p.expect("as", `"as" and the names of the pattern's fields`); err != nil {
		return nil, err
	}
	for {
		n := p.lex.next()
		if n.kind != tokIdent {
			return nil, p.fail(n, "a field name")
		}
		c.names = append(c.names, n.text)
		if !p.lex.peek().is(",") {
			break
		}
		p.lex.next()
	}
	parts := strings.Split(glob.text, "*")
	if len(parts)-1 != len(c.names) {
		return nil, p.lex.errorAt(glob.pos, glob.end, fmt.Sprintf("a pattern with one * for each of the %d names", len(c.names)), fmt.Sprintf("%d *", len(parts)-1))
	}
	var b strings.Builder
	b.WriteString("(?s)")
	for i, part := range parts {
		b.WriteString(regexp.QuoteMeta(part))
		switch {
		case i == len(parts)-1:
		case i == len(parts)-2 && parts[i+1] == "":
			b.WriteString("(.*)") // a trailing * takes the rest
		default:
			b.WriteString("(.*?)")
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, p.lex.errorAt(glob.pos, glob.end, "a valid pattern", glob.describe())
	}
	c.re = re
	return c, nil
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// compile compiles a regex literal. AWS: Logs Insights regexes are Java's, with (?<name>...)
// groups and (?i); Go's RE2 reads both, but not backreferences or lookaround.
func (p *parser) compile(t token) (*regexp.Regexp, error) {
	re, err := regexp.Compile(t.text)
	if err != nil {
		return nil, p.lex.errorAt(t.pos, t.end, "a valid regex", fmt.Sprintf("/%s/ (%v)", t.text, err))
	}
	return re, nil
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "like": true, "in": true, "as": true, "by": true, "asc": true, "desc": true}

func isKeyword(s string) bool { return keywords[strings.ToLower(s)] }
