package scenarios

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// SchemaJSON is the JSON Schema (draft 2020-12) of a scenario file, for editors: point
// yaml-language-server at it with a `# yaml-language-server: $schema=...` comment.
//
//go:embed schema.json
var SchemaJSON []byte

// schema is one compiled subschema: the subset of JSON Schema the validator understands.
// Compilation refuses any other keyword, so the embedded schema cannot use one the
// validator would silently ignore.
type schema struct {
	description   string
	types         []string // JSON types; empty: any
	properties    map[string]*schema
	required      []string
	closed        bool    // additionalProperties: false
	additional    *schema // additionalProperties as a schema
	propertyNames *schema
	enum          []any
	items         *schema
	oneOf         []*schema
	ref           *schema
	pattern       *regexp.Regexp
	minimum       *float64
	maximum       *float64
	minLength     *int
	minItems      *int
	minProperties *int
	maxProperties *int
}

// rootSchema is the compiled embedded schema.
var rootSchema = sync.OnceValue(func() *schema {
	s, err := compileSchema(SchemaJSON)
	if err != nil {
		panic("scenarios: embedded schema.json: " + err.Error()) // a test covers it
	}
	return s
})

// compileSchema parses and compiles a schema document whose $refs point into its $defs.
func compileSchema(doc []byte) (*schema, error) {
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, err
	}
	c := &schemaCompiler{defs: map[string]*schema{}, defined: map[string]bool{}}
	root, err := c.compile(raw, "#")
	if err != nil {
		return nil, err
	}
	for name := range c.defs {
		if !c.defined[name] {
			return nil, fmt.Errorf("$ref to #/$defs/%s, which is not defined", name)
		}
	}
	return root, nil
}

type schemaCompiler struct {
	defs    map[string]*schema
	defined map[string]bool
}

// def returns the schema of #/$defs/name, allocated on first use so references can precede
// the definition.
func (c *schemaCompiler) def(name string) *schema {
	if s, ok := c.defs[name]; ok {
		return s
	}
	s := &schema{}
	c.defs[name] = s
	return s
}

// annotations are keywords that carry no constraint.
var annotations = map[string]bool{"$schema": true, "$id": true, "title": true, "default": true, "examples": true, "$comment": true}

func (c *schemaCompiler) compile(raw map[string]any, at string) (*schema, error) {
	return c.compileInto(&schema{}, raw, at)
}

func (c *schemaCompiler) compileInto(s *schema, raw map[string]any, at string) (*schema, error) {
	var err error
	sub := func(key string, v any) *schema {
		m, ok := v.(map[string]any)
		if !ok {
			err = fmt.Errorf("%s/%s: want a schema object", at, key)
			return nil
		}
		var out *schema
		if out, err = c.compile(m, at+"/"+key); err != nil {
			return nil
		}
		return out
	}
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		v := raw[key]
		switch key {
		case "description":
			s.description, _ = v.(string)
		case "$defs":
			defs, _ := v.(map[string]any)
			for name, d := range defs {
				m, ok := d.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s/$defs/%s: want a schema object", at, name)
				}
				if _, err := c.compileInto(c.def(name), m, at+"/$defs/"+name); err != nil {
					return nil, err
				}
				c.defined[name] = true
			}
		case "$ref":
			r, _ := v.(string)
			name, ok := strings.CutPrefix(r, "#/$defs/")
			if !ok {
				return nil, fmt.Errorf("%s: $ref %q: only #/$defs/NAME is supported", at, r)
			}
			s.ref = c.def(name)
		case "type":
			switch t := v.(type) {
			case string:
				s.types = []string{t}
			case []any:
				for _, e := range t {
					name, _ := e.(string)
					s.types = append(s.types, name)
				}
			}
		case "properties":
			props, _ := v.(map[string]any)
			s.properties = map[string]*schema{}
			for name, p := range props {
				if s.properties[name] = sub("properties/"+name, p); err != nil {
					return nil, err
				}
			}
		case "required":
			list, _ := v.([]any)
			for _, e := range list {
				name, _ := e.(string)
				s.required = append(s.required, name)
			}
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				s.closed = !b
			} else if s.additional = sub(key, v); err != nil {
				return nil, err
			}
		case "propertyNames":
			if s.propertyNames = sub(key, v); err != nil {
				return nil, err
			}
		case "items":
			if s.items = sub(key, v); err != nil {
				return nil, err
			}
		case "oneOf":
			list, _ := v.([]any)
			for i, e := range list {
				o := sub(fmt.Sprintf("oneOf/%d", i), e)
				if err != nil {
					return nil, err
				}
				s.oneOf = append(s.oneOf, o)
			}
		case "enum":
			s.enum, _ = v.([]any)
		case "pattern":
			p, _ := v.(string)
			if s.pattern, err = regexp.Compile(p); err != nil {
				return nil, fmt.Errorf("%s: pattern: %w", at, err)
			}
		case "minimum", "maximum":
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("%s: %s must be a number", at, key)
			}
			if key == "minimum" {
				s.minimum = &f
			} else {
				s.maximum = &f
			}
		case "minLength", "minItems", "minProperties", "maxProperties":
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("%s: %s must be a number", at, key)
			}
			n := int(f)
			switch key {
			case "minLength":
				s.minLength = &n
			case "minItems":
				s.minItems = &n
			case "minProperties":
				s.minProperties = &n
			default:
				s.maxProperties = &n
			}
		default:
			if !annotations[key] {
				return nil, fmt.Errorf("%s: keyword %q is not supported by the scenario validator", at, key)
			}
		}
	}
	return s, nil
}

// allows reports whether a JSON type name is admitted by the schema's type keyword, or by
// the types of its enum values when it has no type keyword (an integer is also a number).
func (s *schema) allows(t string) bool {
	types := s.types
	if len(types) == 0 {
		for _, v := range s.enum {
			types = append(types, valueType(v))
		}
	}
	if len(types) == 0 {
		return true
	}
	return slices.Contains(types, t) || (t == "integer" && slices.Contains(types, "number"))
}

// valueType names the JSON type of a value decoded by encoding/json.
func valueType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	}
	return "string"
}

// typeName describes the schema's accepted types, for messages.
func (s *schema) typeName() string {
	if s.ref != nil && len(s.types) == 0 {
		return s.ref.typeName()
	}
	if len(s.enum) > 0 && len(s.types) == 0 {
		return "one of " + enumList(s.enum)
	}
	return strings.Join(s.types, " or ")
}

// enumList formats enum values for messages.
func enumList(values []any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}
