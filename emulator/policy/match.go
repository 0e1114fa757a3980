package policy

import (
	"strings"
	"unicode/utf8"
)

// tokenKind says what one piece of a policy string stands for.
type tokenKind uint8

const (
	literal  tokenKind = iota // text matched as is
	anyRun                    // '*': any run of characters, '/' included
	anyChar                   // '?': exactly one character
	variable                  // ${name}: the connection's value, see Context
)

// token is one piece of a policy string.
type token struct {
	kind tokenKind
	v    varKind // for a variable: which one
	text string  // the literal text, or the variable name as written
	key  string  // for a variable of Context.Variables: its name in lower case
}

// varKind says where a variable's value comes from, decided once at Parse so that matching
// compares no names.
type varKind uint8

const (
	varOther      varKind = iota // Context.Variables (or none)
	varClientID                  // ${iot:ClientId}
	varDomainName                // ${iot:DomainName}
	varSourceIP                  // ${aws:SourceIp}
)

// variableToken returns the token of the variable name.
func variableToken(name string) token {
	t := token{kind: variable, text: name}
	switch {
	case strings.EqualFold(name, "iot:ClientId"):
		t.v = varClientID
	case strings.EqualFold(name, "iot:DomainName"):
		t.v = varDomainName
	case strings.EqualFold(name, "aws:SourceIp"):
		t.v = varSourceIP
	default:
		t.key = strings.ToLower(name)
	}
	return t
}

// pattern is a policy string (a resource, an action or a condition value) split into tokens
// as written, before variables are substituted.
type pattern struct {
	src  string
	toks []token
}

// parsePattern splits src into tokens. With vars, ${...} is a policy variable or one of the
// escapes ${*}, ${?}, ${$}; without (action names), only '*' and '?' are special.
func parsePattern(src string, vars bool) pattern {
	p := pattern{src: src}
	lit := 0 // start of the pending literal run
	flush := func(end int) {
		if end > lit {
			p.toks = append(p.toks, token{kind: literal, text: src[lit:end]})
		}
	}
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '*' || c == '?':
			flush(i)
			// AWS: '*' matches any run of characters (across '/' too), '?' exactly one.
			kind := anyRun
			if c == '?' {
				kind = anyChar
			}
			p.toks = append(p.toks, token{kind: kind})
			i++
			lit = i
		case vars && c == '$' && strings.HasPrefix(src[i:], "${"):
			end := strings.IndexByte(src[i+2:], '}')
			if end < 0 {
				// AWS (inferred): an unterminated "${" is literal text. No '}' follows, so no
				// later "${" is a variable either.
				vars = false
				i++
				continue
			}
			flush(i)
			name := src[i+2 : i+2+end]
			switch name {
			case "*", "?", "$":
				// AWS: ${*}, ${?} and ${$} stand for the literal characters.
				p.toks = append(p.toks, token{kind: literal, text: name})
			default:
				p.toks = append(p.toks, variableToken(name))
			}
			i += 2 + end + 1
			lit = i
		default:
			i++
		}
	}
	flush(len(src))
	return p
}

// hasVariables reports whether the pattern uses a policy variable.
func (p pattern) hasVariables() bool {
	for _, t := range p.toks {
		if t.kind == variable {
			return true
		}
	}
	return false
}

// compile returns a matcher for p, a resource, that keeps its variables: matchIn takes their
// values from the connection's Context, so that one matcher serves every connection. It
// decides as resolve's matcher for that Context does.
func (p pattern) compile() matcher {
	if !p.hasVariables() {
		return p.resolve(nil, false)
	}
	toks := make([]token, 0, len(p.toks))
	for _, t := range p.toks {
		if n := len(toks); t.kind == anyRun && n > 0 && toks[n-1].kind == anyRun {
			continue // "**" is the same as "*"
		}
		toks = append(toks, t)
	}
	m := matcher{kind: matchGlob, vars: true, toks: toks}
	wild, vars := 0, 0 // wildcards before the last token, variables
	for i, t := range toks {
		switch t.kind {
		case literal:
			m.least += len(t.text)
		case anyChar:
			m.least++ // a character is one byte at least
		case variable:
			vars++
		}
		if i < len(toks)-1 && (t.kind == anyRun || t.kind == anyChar) {
			wild++
		}
	}
	last := toks[len(toks)-1]
	if wild > 0 || last.kind == anyChar {
		return m
	}
	// Literal text and variables only, then an optional '*'.
	m.kind, m.tail = matchPieces, last.kind == anyRun
	if m.tail {
		m.toks = toks[:len(toks)-1]
	}
	if vars == 1 { // the usual resource: topic/devices/${iot:ClientId}/*
		var before, after strings.Builder
		b := &before
		for _, t := range m.toks {
			if t.kind == variable {
				m.toks, b = []token{t}, &after
				continue
			}
			b.WriteString(t.text)
		}
		m.kind, m.lit, m.after = matchAround, before.String(), after.String()
	}
	return m
}

// resolve substitutes the variables of p from ctx and returns a matcher for the result.
// Substituted values are literal text: a '*' in a client ID matches only '*'. A variable
// that does not resolve makes a matcher that matches nothing.
func (p pattern) resolve(ctx *Context, fold bool) matcher {
	toks := make([]token, 0, len(p.toks))
	for i := 0; i < len(p.toks); i++ {
		switch t := p.toks[i]; t.kind {
		case literal, variable:
			j := i + 1
			for j < len(p.toks) && (p.toks[j].kind == literal || p.toks[j].kind == variable) {
				j++
			}
			text, missing, ok := p.join(ctx, p.toks[i:j])
			if !ok {
				// AWS (inferred): a pattern whose variable does not resolve matches nothing.
				return matcher{kind: matchNone, missing: missing}
			}
			toks = append(toks, token{kind: literal, text: text})
			i = j - 1
		case anyRun:
			if n := len(toks); n > 0 && toks[n-1].kind == anyRun {
				continue // "**" is the same as "*"
			}
			toks = append(toks, t)
		default:
			toks = append(toks, t)
		}
	}
	return newMatcher(toks, fold)
}

// join returns a run of literal and variable tokens as one string, variables substituted,
// built with one allocation at most; when a variable does not resolve, ok is false and
// missing names it (${} names the empty variable: it never resolves).
func (pattern) join(ctx *Context, run []token) (text, missing string, ok bool) {
	if len(run) == 1 && run[0].kind == literal {
		return run[0].text, "", true
	}
	n := 0
	for _, t := range run {
		if t.kind == variable {
			v := ctx.value(&t)
			if v == "" {
				return "", t.text, false
			}
			n += len(v)
		} else {
			n += len(t.text)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, t := range run {
		if t.kind == variable {
			b.WriteString(ctx.value(&t))
		} else {
			b.WriteString(t.text)
		}
	}
	return b.String(), "", true
}

// text substitutes the variables of p and returns the plain string, wildcards as the
// characters '*' and '?'; ok is false when a variable does not resolve. Operators that
// compare whole strings (StringEquals, IpAddress, Bool) use it.
func (p pattern) text(ctx *Context) (string, bool) {
	var b strings.Builder
	for _, t := range p.toks {
		switch t.kind {
		case variable:
			v := ctx.value(&t)
			if v == "" {
				return "", false
			}
			b.WriteString(v)
		case anyRun:
			b.WriteByte('*')
		case anyChar:
			b.WriteByte('?')
		default:
			b.WriteString(t.text)
		}
	}
	return b.String(), true
}

// matchKind selects the matching strategy a matcher uses.
type matchKind uint8

const (
	matchNone   matchKind = iota // nothing (an unresolved variable)
	matchAll                     // "*"
	matchExact                   // no wildcard
	matchPrefix                  // "lit*"
	matchSuffix                  // "*lit"
	matchGlob                    // anything else
	matchPieces                  // literal text and variables, then '*' if tail
	matchAround                  // lit, the one variable, after, then '*' if tail
)

// matcher is a compiled pattern. Its zero value matches nothing. Matching never allocates.
//
// A matcher made by resolve has its variables substituted; one made by pattern.compile keeps
// them (matchPieces, or matchGlob with variable tokens) and takes their values from the
// connection's Context as it matches, so that one matcher serves every connection.
type matcher struct {
	kind    matchKind
	fold    bool    // ASCII case-insensitive (action names)
	tail    bool    // for matchPieces: a '*' follows the pieces
	vars    bool    // toks holds variables
	least   int     // with vars: the bytes a match needs besides the variables' values
	lit     string  // for matchExact, matchPrefix, matchSuffix, matchAround
	after   string  // for matchAround
	toks    []token // for matchGlob and matchPieces (matchAround: its variable): no adjacent anyRuns
	missing string  // for matchNone: the variable that did not resolve
}

// newMatcher picks the cheapest strategy for toks, which hold no variables, no empty
// literals, no adjacent literals and no adjacent anyRuns.
func newMatcher(toks []token, fold bool) matcher {
	m := matcher{kind: matchGlob, fold: fold, toks: toks}
	switch {
	case len(toks) == 0:
		m = matcher{kind: matchExact, fold: fold}
	case len(toks) == 1 && toks[0].kind == literal:
		m = matcher{kind: matchExact, fold: fold, lit: toks[0].text}
	case len(toks) == 1 && toks[0].kind == anyRun:
		m = matcher{kind: matchAll}
	case len(toks) == 2 && toks[0].kind == literal && toks[1].kind == anyRun:
		m = matcher{kind: matchPrefix, fold: fold, lit: toks[0].text}
	case len(toks) == 2 && toks[0].kind == anyRun && toks[1].kind == literal:
		m = matcher{kind: matchSuffix, fold: fold, lit: toks[1].text}
	}
	return m
}

// match reports whether s matches a pattern without variables.
func (m *matcher) match(s string) bool { return m.matchIn(s, nil) }

// matchIn reports whether s matches the pattern, its variables taking their values from ctx.
// A variable that does not resolve matches nothing: AWS (inferred): neither does the pattern.
func (m *matcher) matchIn(s string, ctx *Context) bool {
	switch m.kind {
	case matchAll:
		return true
	case matchExact:
		return len(s) == len(m.lit) && equal(s, m.lit, m.fold)
	case matchPrefix:
		return hasPrefix(s, m.lit, m.fold)
	case matchSuffix:
		return len(s) >= len(m.lit) && equal(s[len(s)-len(m.lit):], m.lit, m.fold)
	case matchGlob:
		if m.vars {
			least, ok := m.length(ctx)
			if !ok || len(s) < least {
				return false
			}
			return glob(m.toks, s, m.fold, ctx)
		}
		return glob(m.toks, s, m.fold, nil)
	case matchAround:
		v := ctx.value(&m.toks[0])
		n := len(m.lit) + len(v) + len(m.after)
		if v == "" || len(s) < n || !m.tail && len(s) != n {
			return false
		}
		// The text after the variable first: it tells resources apart sooner than the ARN
		// prefix they share.
		return s[n-len(m.after):n] == m.after && s[len(m.lit):len(m.lit)+len(v)] == v && s[:len(m.lit)] == m.lit
	case matchPieces:
		least, ok := m.length(ctx)
		if !ok || len(s) < least || !m.tail && len(s) != least {
			return false
		}
		// The pieces have fixed lengths, so each has its place in s: compare from the last,
		// which tells resources apart sooner than the ARN prefix they share.
		end := least
		for i := len(m.toks) - 1; i >= 0; i-- {
			text := ctx.text(&m.toks[i])
			end -= len(text)
			if !equal(s[end:end+len(text)], text, m.fold) {
				return false
			}
		}
		return true
	}
	return false
}

// length returns how many bytes a match of a pattern with variables needs at least, with
// the variables' values from ctx; ok is false when a variable does not resolve.
func (m *matcher) length(ctx *Context) (least int, ok bool) {
	least = m.least
	for i := range m.toks {
		if m.toks[i].kind == variable {
			v := ctx.value(&m.toks[i])
			if v == "" {
				return 0, false
			}
			least += len(v)
		}
	}
	return least, true
}

// glob matches s against toks with the iterative two-pointer algorithm: on a mismatch it
// returns to the last '*' and lets it swallow one more character. No recursion, no
// allocation, O(len(s)*len(toks)) at worst. '?' and the backtracking step move by one
// UTF-8 character (an invalid byte counts as one character). Variable tokens take their values
// from ctx (nil when toks hold none); one that does not resolve matches nothing.
func glob(toks []token, s string, fold bool, ctx *Context) bool {
	p, i := 0, 0
	star, starI := -1, 0 // index of the last '*' seen, and where in s it started swallowing
	for {
		if p < len(toks) {
			switch toks[p].kind {
			case anyRun:
				if p == len(toks)-1 {
					return true // a trailing '*' swallows the rest
				}
				star, starI = p, i
				p++
				if next := toks[p].kind; (next == literal || next == variable) && !fold {
					// Skip straight to where the text after the '*' occurs: the positions
					// before it cannot match.
					var k int
					if ctx == nil {
						k = strings.Index(s[i:], toks[p].text) // valid UTF-8: found at a character boundary
					} else {
						k = indexRun(toks[p:], s[i:], ctx)
					}
					if k < 0 {
						return false
					}
					starI += k
					i = starI
				}
				continue
			case anyChar:
				if i < len(s) {
					_, w := utf8.DecodeRuneInString(s[i:])
					i += w
					p++
					continue
				}
			default:
				text := toks[p].text
				if toks[p].kind == variable {
					if text = ctx.value(&toks[p]); text == "" {
						return false
					}
				}
				if hasPrefix(s[i:], text, fold) {
					i += len(text)
					p++
					continue
				}
			}
		} else if i == len(s) {
			return true
		}
		if star < 0 || starI >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starI:])
		p, i = star, starI+w // retry the '*', one character further
	}
}

// indexRun returns the first offset in s where the literal text and variables that start
// toks (up to a wildcard) occur, all of them, or -1. It looks for the longest literal text
// of the run, the rarest. Literal text from the policy is valid UTF-8, and so is a
// variable's value, so they are found only at character boundaries.
func indexRun(toks []token, s string, ctx *Context) int {
	n := 0 // the run is toks[:n]
	best, bestAt, length := 0, 0, 0
	for ; n < len(toks) && (toks[n].kind == literal || toks[n].kind == variable); n++ {
		text := ctx.text(&toks[n])
		if text == "" {
			return -1 // a variable that does not resolve
		}
		if toks[n].kind == literal && len(text) > len(toks[best].text) {
			best, bestAt = n, length
		}
		length += len(text)
	}
	needle := ctx.text(&toks[best])
	for from := bestAt; from <= len(s); {
		k := strings.Index(s[from:], needle)
		if k < 0 {
			return -1
		}
		if start := from + k - bestAt; runFollows(toks[:n], s[start:], ctx) {
			return start
		}
		from += k + 1
	}
	return -1
}

// runFollows reports whether s starts with the literal text and variables that start toks
// (up to a wildcard).
func runFollows(toks []token, s string, ctx *Context) bool {
	for i := 0; i < len(toks) && (toks[i].kind == literal || toks[i].kind == variable); i++ {
		text := ctx.text(&toks[i])
		if text == "" || !strings.HasPrefix(s, text) {
			return false
		}
		s = s[len(text):]
	}
	return true
}

// hasPrefix is strings.HasPrefix, optionally ASCII case-insensitive.
func hasPrefix(s, prefix string, fold bool) bool {
	return len(s) >= len(prefix) && equal(s[:len(prefix)], prefix, fold)
}

// equal compares two strings of the same length, optionally ASCII case-insensitively.
func equal(a, b string, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
