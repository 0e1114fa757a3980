package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/internal/suggest"
)

// validate checks a YAML node tree against a schema and records every violation at the
// line and column of the offending node. path names the node in messages ("steps[2].connect").
func validate(p *problems, n *yaml.Node, s *schema, path string) {
	n = resolve(n)
	if s.ref != nil {
		validate(p, n, s.ref, path)
	}
	at := posOf(n)
	t := jsonType(n)
	if !s.allows(t) {
		msg := fmt.Sprintf("%s is %s, want %s", describe(n), article(t), s.typeName())
		if slices.Contains(s.types, "string") && n.Kind == yaml.ScalarNode {
			msg += " (quote it)"
		}
		p.add(at, "%s%s", prefix(path), msg)
		return
	}
	if len(s.enum) > 0 {
		v := scalarValue(n)
		if n.Kind != yaml.ScalarNode || !slices.Contains(s.enum, v) {
			p.add(at, "%s%s is not one of %s%s", prefix(path), describe(n), enumList(s.enum), suggestion(fmt.Sprint(v), enumStrings(s.enum)))
		}
	}
	if len(s.oneOf) > 0 {
		validateOneOf(p, n, s, path)
	}
	switch t {
	case "object":
		validateObject(p, n, s, path)
	case "array":
		if s.minItems != nil && len(n.Content) < *s.minItems {
			p.add(at, "%sneeds at least %d item(s)", prefix(path), *s.minItems)
		}
		if s.items != nil {
			for i, item := range n.Content {
				validate(p, item, s.items, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case "string":
		validateString(p, n.Value, at, s, path)
	case "integer", "number":
		f, _ := scalarValue(n).(float64)
		if s.minimum != nil && f < *s.minimum {
			p.add(at, "%s%s is less than %v", prefix(path), n.Value, *s.minimum)
		}
		if s.maximum != nil && f > *s.maximum {
			p.add(at, "%s%s is more than %v", prefix(path), n.Value, *s.maximum)
		}
	}
}

func validateString(p *problems, v string, at pos, s *schema, path string) {
	if s.minLength != nil && utf8.RuneCountInString(v) < *s.minLength {
		p.add(at, "%smust not be empty", prefix(path))
	}
	if s.pattern != nil && !s.pattern.MatchString(v) {
		want := s.description
		if want == "" {
			want = "a value matching " + s.pattern.String()
		}
		p.add(at, "%s%q is not %s", prefix(path), v, want)
	}
}

func validateObject(p *problems, n *yaml.Node, s *schema, path string) {
	at := posOf(n)
	entries := pairs(n)
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.key.Value
	}
	if s.minProperties != nil && len(entries) < *s.minProperties {
		p.add(at, "%sneeds at least %d key(s)", prefix(path), *s.minProperties)
	}
	if s.maxProperties != nil && len(entries) > *s.maxProperties {
		p.add(at, "%shas %d keys (%s) where at most %d is allowed%s", prefix(path), len(entries), strings.Join(keys, ", "), *s.maxProperties, because(s))
	}
	for _, name := range s.required {
		if !slices.Contains(keys, name) {
			p.add(at, "%smissing key %q", prefix(path), name)
		}
	}
	known := slices.Sorted(maps.Keys(s.properties))
	for _, e := range entries {
		name := e.key.Value
		child := path + "." + name
		if path == "" {
			child = name
		}
		if s.propertyNames != nil {
			validateString(p, name, posOf(e.key), s.propertyNames, path)
		}
		switch sub, ok := s.properties[name]; {
		case ok:
			validate(p, e.value, sub, child)
		case s.additional != nil:
			validate(p, e.value, s.additional, child)
		case s.closed:
			msg := fmt.Sprintf("%sunknown key %q%s", prefix(path), name, suggestion(name, known))
			if len(known) <= 20 {
				msg += "; allowed: " + strings.Join(known, ", ")
			}
			p.add(posOf(e.key), "%s", msg)
		}
	}
}

// validateOneOf accepts the node when exactly one alternative does. Otherwise it reports the
// problems of the one alternative of the node's type if there is exactly one such (the usual
// "a name, or an object" choice), else that the node matches none.
func validateOneOf(p *problems, n *yaml.Node, s *schema, path string) {
	var matched, ofType []*problems
	for _, alt := range s.oneOf {
		sub := &problems{file: p.file}
		validate(sub, n, alt, path)
		if len(sub.list) == 0 {
			matched = append(matched, sub)
		}
		if resolved(alt).allows(jsonType(n)) {
			ofType = append(ofType, sub)
		}
	}
	switch {
	case len(matched) == 1:
	case len(matched) > 1:
		p.add(posOf(n), "%s%s matches more than one alternative", prefix(path), describe(n))
	case len(ofType) == 1:
		p.list = append(p.list, ofType[0].list...)
	default:
		alts := make([]string, len(s.oneOf))
		for i, alt := range s.oneOf {
			alts[i] = alt.typeName()
		}
		p.add(posOf(n), "%s%s is %s, want %s", prefix(path), describe(n), article(jsonType(n)), strings.Join(alts, ", or "))
	}
}

// resolved follows a schema's $ref when it has nothing else to say about types.
func resolved(s *schema) *schema {
	for s.ref != nil && len(s.types) == 0 && len(s.enum) == 0 {
		s = s.ref
	}
	return s
}

// because explains a constraint with the schema's description, when it has one.
func because(s *schema) string {
	if s.description == "" {
		return ""
	}
	return " (" + strings.TrimSuffix(s.description, ".") + ")"
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// describe quotes a node for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "the mapping"
	case yaml.SequenceNode:
		return "the list"
	}
	if jsonType(n) == "string" {
		return strconv.Quote(n.Value)
	}
	return n.Value
}

func article(jsonType string) string {
	switch jsonType {
	case "object", "array", "integer":
		return "an " + jsonType
	}
	return "a " + jsonType
}

func enumStrings(values []any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// suggestion proposes the closest of options to a misspelled word, or returns "".
func suggestion(word string, options []string) string {
	best := suggest.Closest(word, options, 3)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
