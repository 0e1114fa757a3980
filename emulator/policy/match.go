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
	variable                  // ${name}: substituted at Compile
)

// token is one piece of a policy string.
type token struct {
	kind tokenKind
	text string // the literal text, or the variable name
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
				p.toks = append(p.toks, token{kind: variable, text: name})
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
			text, missing := p.join(ctx, p.toks[i:j])
			if missing != "" {
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
// built with one allocation at most; missing names the first variable that does not resolve.
func (pattern) join(ctx *Context, run []token) (text, missing string) {
	if len(run) == 1 && run[0].kind == literal {
		return run[0].text, ""
	}
	n := 0
	for _, t := range run {
		if t.kind == variable {
			v, ok := ctx.variable(t.text)
			if !ok {
				return "", t.text
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
			v, _ := ctx.variable(t.text)
			b.WriteString(v)
		} else {
			b.WriteString(t.text)
		}
	}
	return b.String(), ""
}

// text substitutes the variables of p and returns the plain string, wildcards as the
// characters '*' and '?'; ok is false when a variable does not resolve. Operators that
// compare whole strings (StringEquals, IpAddress, Bool) use it.
func (p pattern) text(ctx *Context) (string, bool) {
	var b strings.Builder
	for _, t := range p.toks {
		switch t.kind {
		case variable:
			v, ok := ctx.variable(t.text)
			if !ok {
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
)

// matcher is a compiled pattern. Its zero value matches nothing. Matching never allocates.
type matcher struct {
	kind    matchKind
	fold    bool    // ASCII case-insensitive (action names)
	lit     string  // for matchExact, matchPrefix, matchSuffix
	toks    []token // for matchGlob: literal, anyRun and anyChar tokens only
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

// match reports whether s matches the pattern.
func (m *matcher) match(s string) bool {
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
		return glob(m.toks, s, m.fold)
	}
	return false
}

// glob matches s against toks with the iterative two-pointer algorithm: on a mismatch it
// returns to the last '*' and lets it swallow one more character. No recursion, no
// allocation, O(len(s)*len(toks)) at worst. '?' and the backtracking step move by one
// UTF-8 character (an invalid byte counts as one character).
func glob(toks []token, s string, fold bool) bool {
	p, i := 0, 0
	star, starI := -1, 0 // index of the last '*' seen, and where in s it started swallowing
	for {
		if p < len(toks) {
			switch t := toks[p]; t.kind {
			case anyRun:
				if p == len(toks)-1 {
					return true // a trailing '*' swallows the rest
				}
				star, starI = p, i
				p++
				if next := toks[p]; next.kind == literal && !fold {
					// Skip straight to where the literal after the '*' occurs: the positions
					// before it cannot match. A literal from the policy is valid UTF-8, so it
					// is found only at character boundaries.
					k := strings.Index(s[i:], next.text)
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
				if hasPrefix(s[i:], t.text, fold) {
					i += len(t.text)
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
