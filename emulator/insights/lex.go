package insights

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokString
	tokRegex
	tokOp // punctuation and operators: | , ( ) [ ] = != < <= > >= =~ + - * / %
)

type token struct {
	kind tokKind
	text string // identifier (unquoted), operator, number text, string or regex contents
	pos  int    // byte offset of the token's first character
	end  int    // byte offset after it
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end of the query"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	case tokRegex:
		return "regex /" + t.text + "/"
	}
	return fmt.Sprintf("%q", t.text)
}

// is reports whether t is the keyword or operator s (keywords case-insensitively).
func (t token) is(s string) bool {
	return (t.kind == tokIdent || t.kind == tokOp) && strings.EqualFold(t.text, s)
}

// SyntaxError is a query that does not parse: where, and what the parser expected there.
// AWS: the console and MalformedQueryException point at the offending characters.
type SyntaxError struct {
	Line, Column int // 1-based, in characters
	Offset, End  int // byte offsets of the offending text (End > Offset, except at the end)
	Expected     string
	Found        string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: expected %s, found %s", e.Line, e.Column, e.Expected, e.Found)
}

// lexer scans the query on demand, so that the parser can ask for a regex where one may be.
type lexer struct {
	src    string
	pos    int
	peeked *token
	err    *SyntaxError
}

func (l *lexer) errorAt(pos, end int, expected, found string) *SyntaxError {
	line, col := 1, 1
	for _, r := range l.src[:min(pos, len(l.src))] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Column: col, Offset: pos, End: max(end, pos), Expected: expected, Found: found}
}

func (l *lexer) peek() token {
	if l.peeked == nil {
		t := l.scan()
		l.peeked = &t
	}
	return *l.peeked
}

func (l *lexer) next() token {
	t := l.peek()
	l.peeked = nil
	return t
}

// skip moves past white space and # comments (to the end of the line).
func (l *lexer) skip() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
		default:
			return
		}
	}
}

func isIdentStart(r rune) bool { return r == '@' || r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool {
	return r == '@' || r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (l *lexer) scan() token {
	if l.err != nil {
		return token{kind: tokEOF, pos: len(l.src), end: len(l.src)}
	}
	l.skip()
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}
	}
	r, size := utf8.DecodeRuneInString(l.src[l.pos:])
	switch {
	case isIdentStart(r):
		for l.pos < len(l.src) {
			r, size := utf8.DecodeRuneInString(l.src[l.pos:])
			if !isIdentPart(r) {
				break
			}
			l.pos += size
		}
		return token{kind: tokIdent, text: l.src[start:l.pos], pos: start, end: l.pos}
	case r == '`':
		end := strings.IndexByte(l.src[l.pos+1:], '`')
		if end < 0 {
			l.err = l.errorAt(start, len(l.src), "a closing `", "the end of the query")
			return token{kind: tokEOF, pos: start, end: start}
		}
		l.pos += end + 2
		return token{kind: tokIdent, text: l.src[start+1 : l.pos-1], pos: start, end: l.pos}
	case r >= '0' && r <= '9' || r == '.' && l.pos+1 < len(l.src) && l.src[l.pos+1] >= '0' && l.src[l.pos+1] <= '9':
		for l.pos < len(l.src) && (l.src[l.pos] >= '0' && l.src[l.pos] <= '9' || l.src[l.pos] == '.') {
			l.pos++
		}
		// A unit directly after the digits (5m, 1h, 100ms) stays part of the token: bin's period.
		for l.pos < len(l.src) && (l.src[l.pos] >= 'a' && l.src[l.pos] <= 'z' || l.src[l.pos] >= 'A' && l.src[l.pos] <= 'Z') {
			l.pos++
		}
		return token{kind: tokNumber, text: l.src[start:l.pos], pos: start, end: l.pos}
	case r == '"' || r == '\'':
		return l.quoted(byte(r), tokString, "a closing "+string(r))
	}
	l.pos += size
	if l.pos < len(l.src) {
		two := l.src[start : l.pos+1]
		switch two {
		case "!=", "<=", ">=", "=~", "==":
			l.pos++
			return token{kind: tokOp, text: two, pos: start, end: l.pos}
		}
	}
	if strings.ContainsRune("|,()[]=<>+-*/%!", r) {
		return token{kind: tokOp, text: string(r), pos: start, end: l.pos}
	}
	l.err = l.errorAt(start, l.pos, "a field, value or operator", fmt.Sprintf("%q", string(r)))
	return token{kind: tokEOF, pos: start, end: start}
}

// quoted scans a string or regex that starts at l.pos with delim; a backslash escapes the
// delimiter (and, in strings, itself).
func (l *lexer) quoted(delim byte, kind tokKind, expected string) token {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\\' && l.pos+1 < len(l.src) && (l.src[l.pos+1] == delim || kind == tokString && l.src[l.pos+1] == '\\'):
			b.WriteByte(l.src[l.pos+1])
			l.pos += 2
			continue
		case c == delim:
			l.pos++
			return token{kind: kind, text: b.String(), pos: start, end: l.pos}
		}
		b.WriteByte(c)
		l.pos++
	}
	l.err = l.errorAt(start, len(l.src), expected, "the end of the query")
	return token{kind: tokEOF, pos: start, end: start}
}

// regex returns the regex literal at the next token, which the peeked "/" starts.
func (l *lexer) regex() (token, bool) {
	t := l.peek()
	if !t.is("/") {
		return t, false
	}
	l.peeked = nil
	l.pos = t.pos
	r := l.quoted('/', tokRegex, "a closing /")
	return r, r.kind == tokRegex
}
