package controlplane

import (
	"strings"

	"github.com/iotemu/iotemu/emulator/insights"
)

// matchPattern applies a CloudWatch Logs filter pattern to events and reports which match.
// AWS: an empty pattern matches everything; terms must all appear (case-sensitive), "quoted
// phrases" as written, ?term makes the terms alternatives and -term excludes; a JSON pattern
// { $.field = "value" && $.n > 3 } compares members of JSON events. Space-delimited patterns
// ([a, b, ...]) and JSON wildcards are not supported.
func matchPattern(pattern string, events []insights.Event) ([]bool, error) {
	matched := make([]bool, len(events))
	p := strings.TrimSpace(pattern)
	switch {
	case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
		q, err := insights.Parse("filter " + jsonPatternToFilter(p[1:len(p)-1]))
		if err != nil {
			return nil, logsErr(logsInvalid, "Invalid filter pattern %q: %v", pattern, err)
		}
		for _, r := range q.Run(events).Rows {
			matched[r.Event] = true
		}
		return matched, nil
	case strings.HasPrefix(p, "["):
		return nil, logsErr(logsInvalid, "space-delimited filter patterns ([...]) are not supported by iotemu: %q", pattern)
	}
	var all, either, none []string
	for _, t := range patternTerms(p) {
		switch {
		case strings.HasPrefix(t, "?"):
			either = append(either, strings.Trim(t[1:], `"`))
		case strings.HasPrefix(t, "-"):
			none = append(none, strings.Trim(t[1:], `"`))
		default:
			all = append(all, strings.Trim(t, `"`))
		}
	}
	for i, e := range events {
		matched[i] = termsMatch(e.Message, all, either, none)
	}
	return matched, nil
}

func termsMatch(msg string, all, either, none []string) bool {
	for _, t := range none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	if len(either) == 0 {
		return true
	}
	for _, t := range either {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}

// patternTerms splits a pattern at spaces outside double quotes.
func patternTerms(p string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range p {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// jsonPatternToFilter rewrites the body of a JSON filter pattern as a Logs Insights filter:
// $.a.b becomes the field a.b, && and, || or; quoted text is kept as it is.
func jsonPatternToFilter(body string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"' && (i == 0 || body[i-1] != '\\'):
			quoted = !quoted
			b.WriteByte(c)
		case quoted:
			b.WriteByte(c)
		case strings.HasPrefix(body[i:], "$."):
			b.WriteByte('`')
			i += 2
			for i < len(body) && (body[i] == '.' || body[i] == '_' || body[i] == '-' || body[i] >= '0' && body[i] <= '9' || body[i]|0x20 >= 'a' && body[i]|0x20 <= 'z') {
				b.WriteByte(body[i])
				i++
			}
			i--
			b.WriteByte('`')
		case strings.HasPrefix(body[i:], "&&"):
			b.WriteString(" and ")
			i++
		case strings.HasPrefix(body[i:], "||"):
			b.WriteString(" or ")
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
