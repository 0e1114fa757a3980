package policy

import (
	"testing"
	"unicode/utf8"
)

// chars splits s into UTF-8 characters, an invalid byte being one character.
func chars(s string) []string {
	var cs []string
	for len(s) > 0 {
		_, w := utf8.DecodeRuneInString(s)
		cs = append(cs, s[:w])
		s = s[w:]
	}
	return cs
}

// refMatch is the slow, obviously correct reference matcher: dynamic programming over
// characters, where '*' in pattern is any run of characters and '?' exactly one.
func refMatch(pattern, s string) bool {
	p, c := chars(pattern), chars(s)
	// next[j] says whether p[i+1:] matches c[j:]; cur[j] whether p[i:] does.
	next := make([]bool, len(c)+1)
	cur := make([]bool, len(c)+1)
	next[len(c)] = true
	for i := len(p) - 1; i >= 0; i-- {
		for j := len(c); j >= 0; j-- {
			switch {
			case p[i] == "*":
				cur[j] = next[j] || (j < len(c) && cur[j+1])
			case j == len(c):
				cur[j] = false
			default:
				cur[j] = (p[i] == "?" || p[i] == c[j]) && next[j+1]
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// compilePattern compiles a pattern with '*' and '?' wildcards and no variables.
func compilePattern(pattern string) matcher {
	return parsePattern(pattern, false).resolve(nil, false)
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything/at/all", true},
		{"**", "x", true},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"abc", "ab", false},
		{"a/*", "a/b/c", true},
		{"a/*", "a", false},
		{"*/c", "a/b/c", true},
		{"*/c", "c", false},
		{"a*c", "abbbc", true},
		{"a*c", "abbbcd", false},
		{"a*b*c", "a_b_b_c", true},
		{"a*b*c", "acb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"?", "é", true},
		{"??", "é", false},
		{"*?", "", false},
		{"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"*ab", "aab", true},
		{"*aab", "aaab", true},
		{"a/+/c", "a/+/c", true},
		{"a/+/c", "a/b/c", false},
		{"a/#", "a/b", false},
		{"?\xff", "a\xff", true},
	}
	for _, tt := range tests {
		m := compilePattern(tt.pattern)
		if got := m.match(tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v (kind %d)", tt.pattern, tt.s, got, tt.want, m.kind)
		}
		if ref := refMatch(tt.pattern, tt.s); ref != tt.want {
			t.Errorf("refMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, ref, tt.want)
		}
	}
}

func TestMatcherKinds(t *testing.T) {
	tests := []struct {
		pattern string
		want    matchKind
	}{
		{"*", matchAll},
		{"***", matchAll},
		{"abc", matchExact},
		{"", matchExact},
		{"abc*", matchPrefix},
		{"*abc", matchSuffix},
		{"a*c", matchGlob},
		{"a?", matchGlob},
	}
	for _, tt := range tests {
		if m := compilePattern(tt.pattern); m.kind != tt.want {
			t.Errorf("compilePattern(%q).kind = %d, want %d", tt.pattern, m.kind, tt.want)
		}
	}
}

func TestMatchFold(t *testing.T) {
	m := parsePattern("iot:Pub*sh", false).resolve(nil, true)
	for _, s := range []string{"iot:Publish", "IOT:PUBLISH", "iot:publish"} {
		if !m.match(s) {
			t.Errorf("fold match(%q) = false", s)
		}
	}
	if m.match("iot:Receive") {
		t.Error("fold match(iot:Receive) = true")
	}
}

func TestMatcherString(t *testing.T) {
	ctx := &Context{ClientID: "a*b?${c}"}
	tests := []struct{ src, want string }{
		{"topic/${iot:ClientId}", "topic/a${*}b${?}${$}{c}"},
		{"topic/${iot:ClientId}/*", "topic/a${*}b${?}${$}{c}/*"},
		{"*/${iot:ClientId}", "*/a${*}b${?}${$}{c}"},
		{"?/${iot:ClientId}*", "?/a${*}b${?}${$}{c}*"},
		{"*", "*"},
	}
	for _, tt := range tests {
		m := parsePattern(tt.src, true).resolve(ctx, false)
		if got := m.String(); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.src, got, tt.want)
		}
		// What String prints, parsed again, matches the same thing.
		again := parsePattern(m.String(), true).resolve(ctx, false)
		if s := "topic/a*b?${c}"; m.match(s) != again.match(s) {
			t.Errorf("String(%q) = %q does not round-trip", tt.src, m.String())
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("topic/a/*", "topic/a/b/c")
	f.Add("a?c*", "abcdef")
	f.Add("*a*b?c*", "xxaxxbycxx")
	f.Add("*é?", "aéé")
	f.Add("a+/#", "a+/#")
	f.Add("**?*", "\xff")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		// Policy documents hold at most 2048 characters and topics are short; matching is
		// O(len(pattern)*len(s)) at worst, so megabyte inputs would only stall the fuzzer.
		if len(pattern) > 4096 || len(s) > 4096 {
			return
		}
		m := compilePattern(pattern)
		got := m.match(s)
		// The reference compares whole characters; a policy pattern is always valid UTF-8
		// (it comes from JSON), so only those are compared.
		if utf8.ValidString(pattern) {
			if want := refMatch(pattern, s); got != want {
				t.Fatalf("match(%q, %q) = %v, reference says %v (kind %d)", pattern, s, got, want, m.kind)
			}
		}
		// Literal text, spelled with escapes, matches itself exactly.
		lit := parsePattern(escaper.Replace(s), true).resolve(nil, false)
		if !lit.match(s) {
			t.Fatalf("escaped literal %q does not match itself", s)
		}
		if s != "" && lit.match(s[1:]) {
			t.Fatalf("escaped literal %q matches %q", s, s[1:])
		}
		// A substituted variable is literal text too.
		sub := parsePattern("${iot:ClientId}", true).resolve(&Context{ClientID: pattern}, false)
		if pattern != "" && sub.match(s) != (s == pattern) {
			t.Fatalf("client ID %q as a pattern: match(%q) = %v", pattern, s, sub.match(s))
		}
	})
}

// TestCompiledMatchesResolved checks that a resource compiled once, its variables matched
// against the connection's values, decides as the resource with the values substituted.
func TestCompiledMatchesResolved(t *testing.T) {
	patterns := []string{
		"topic/${iot:ClientId}",
		"topic/${iot:ClientId}/*",
		"topic/${iot:ClientId}${iot:DomainName}/x",
		"*/${iot:ClientId}",
		"*${iot:ClientId}*",
		"?/${iot:ClientId}*",
		"topic/${iot:ClientId}/?",
		"topic/**/${aws:SourceIp}**",
		"${iot:ClientId}",
		"a${*}${iot:ClientId}${?}b*",
		"topic/${iot:Connection.Thing.ThingName}/*",
		"topic/${iot:Certificate.Subject.CommonName}",
		"x/${iot:Unknown}",
	}
	contexts := []Context{
		{},
		{ClientID: "dev1", DomainName: "d.example", SourceIP: "10.1.2.3"},
		{ClientID: "a*b?", DomainName: "é", SourceIP: "::1"},
		{ClientID: "dev", Variables: map[string]string{"iot:certificate.subject.commonname": "cn", "iot:connection.thing.thingname": "thing"}},
	}
	subjects := []string{"", "topic/dev1", "topic/dev1/", "topic/dev1/x", "topic/dev1d.example/x", "x/dev1", "dev1",
		"topic/a*b?", "topic/a*b?/é", "a/a*b?", "topic/x/10.1.2.3", "topic/10.1.2.3y", "a*dev1?b", "a*dev?b-", "topic/cn", "topic/thing/1",
		"xdev1y", "topic/dev1/7", "topic/dev1/77", "topic/a*b?é/x"}
	for _, src := range patterns {
		p := parsePattern(src, true)
		m := p.compile()
		for _, ctx := range contexts {
			want := p.resolve(&ctx, false)
			for _, s := range subjects {
				if got := m.matchIn(s, &ctx); got != want.match(s) {
					t.Errorf("%q with %+v: matchIn(%q) = %v, substituted pattern says %v", src, ctx, s, got, !got)
				}
			}
		}
	}
}

func FuzzCompiledMatchesResolved(f *testing.F) {
	f.Add("topic/${iot:ClientId}/*", "dev1", "topic/dev1/x")
	f.Add("*${iot:ClientId}?*", "a*", "xa*yz")
	f.Add("${iot:ClientId}${iot:ClientId}", "ab", "abab")
	f.Add("*/${iot:ClientId}", "", "a/")
	f.Fuzz(func(t *testing.T, pattern, clientID, s string) {
		if len(pattern) > 4096 || len(s) > 4096 || !utf8.ValidString(clientID) {
			return
		}
		ctx := &Context{ClientID: clientID, SourceIP: "10.0.0.1"}
		p := parsePattern(pattern, true)
		compiled, resolved := p.compile(), p.resolve(ctx, false)
		if got, want := compiled.matchIn(s, ctx), resolved.match(s); got != want {
			t.Fatalf("%q with client ID %q: matchIn(%q) = %v, substituted pattern says %v", pattern, clientID, s, got, want)
		}
	})
}
