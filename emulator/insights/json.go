package insights

import (
	"encoding/json"
	"strconv"
	"strings"
)

// field is one discovered field.
type field struct {
	name string
	v    value
}

// jsonScanner flattens a JSON object into fields without building maps: names nest with dots,
// strings without escapes are slices of the message. Any syntax error stops it, and the
// message then has no JSON fields (as a line that is not JSON).
type jsonScanner struct {
	s      string
	i      int
	wanted map[string]bool // nil: every field
	out    []field
	bad    bool
}

// flattenJSON returns the fields of the JSON object s that wanted names (all when wanted is
// nil), or nil when s is not one.
func flattenJSON(s string, wanted map[string]bool) []field {
	sc := &jsonScanner{s: s, wanted: wanted}
	sc.space()
	if sc.i >= len(s) || s[sc.i] != '{' {
		return nil
	}
	sc.value("", 0)
	sc.space()
	if sc.bad || sc.i != len(s) {
		return nil
	}
	return sc.out
}

func (sc *jsonScanner) space() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t' || sc.s[sc.i] == '\n' || sc.s[sc.i] == '\r') {
		sc.i++
	}
}

func (sc *jsonScanner) emit(name string, v value) {
	if len(sc.out) < maxDiscovered && (sc.wanted == nil || sc.wanted[name]) {
		if sc.out == nil {
			sc.out = make([]field, 0, 4)
		}
		sc.out = append(sc.out, field{name, v})
	}
}

func (sc *jsonScanner) value(name string, depth int) {
	sc.space()
	if sc.bad || sc.i >= len(sc.s) || depth > maxDepth {
		sc.bad = true
		return
	}
	switch c := sc.s[sc.i]; {
	case c == '{':
		sc.i++
		sc.space()
		if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
			sc.i++
			return
		}
		for !sc.bad {
			sc.space()
			k, ok := sc.str()
			sc.space()
			if !ok || sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
				sc.bad = true
				return
			}
			sc.i++
			sc.value(join(name, k), depth+1)
			if !sc.sep('}') {
				return
			}
		}
	case c == '[':
		sc.i++
		sc.space()
		if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
			sc.i++
			return
		}
		for n := 0; !sc.bad; n++ {
			sc.value(join(name, strconv.Itoa(n)), depth+1)
			if !sc.sep(']') {
				return
			}
		}
	case c == '"':
		if s, ok := sc.str(); ok {
			sc.emit(name, str(s))
		} else {
			sc.bad = true
		}
	default:
		start := sc.i
		for sc.i < len(sc.s) && !strings.ContainsRune(",}] \t\r\n", rune(sc.s[sc.i])) {
			sc.i++
		}
		lit := sc.s[start:sc.i]
		switch lit {
		case "true", "false":
			sc.emit(name, str(lit))
		case "null":
		default:
			f, err := strconv.ParseFloat(lit, 64)
			if err != nil {
				sc.bad = true
				return
			}
			sc.emit(name, num(f))
		}
	}
}

// sep reads "," (true: more follows) or the closing byte (false).
func (sc *jsonScanner) sep(closing byte) bool {
	sc.space()
	if sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ',':
			sc.i++
			return true
		case closing:
			sc.i++
			return false
		}
	}
	sc.bad = true
	return false
}

// str reads a JSON string at sc.i.
func (sc *jsonScanner) str() (string, bool) {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		return "", false
	}
	start := sc.i
	escaped := false
	for j := start + 1; j < len(sc.s); j++ {
		switch sc.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			sc.i = j + 1
			if !escaped {
				return sc.s[start+1 : j], true
			}
			var out string
			if json.Unmarshal([]byte(sc.s[start:j+1]), &out) != nil {
				return "", false
			}
			return out, true
		}
	}
	return "", false
}
