package policy

//lint:file-ignore ST1005 error messages start with the policy key they are about (Effect, Sid, Condition).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Document is one parsed policy document. It is immutable: compile it for any number of
// connections, concurrently.
type Document struct {
	// Name labels the document in errors and explanations, e.g. "policyDocuments[0]".
	Name string

	text       string // as parsed
	statements []statement
	// order lists the statements as they are evaluated: the Deny statements (the first
	// denies) and then the Allow ones, each in document order.
	order  []stmtRef
	denies int
}

// Text returns the document as it was parsed.
func (d *Document) Text() string { return d.text }

// stmtRef is a statement's place in Document.order, with what Evaluate needs of it, so
// that it reads one array.
type stmtRef struct {
	resources   []matcher // the statement's resourceMatch
	index       int32     // in Document.statements
	actionBits  uint8     // which knownActions the statement covers (NotAction applied)
	notResource bool
}

// covers reports whether the statement st, which r refers to, applies to action; bit is
// actionBit(action).
func (r *stmtRef) covers(st *statement, action string, bit uint8) bool {
	if bit != 0 {
		return r.actionBits&bit != 0
	}
	return st.matchesAction(action)
}

// effect returns the Deny statements (deny) or the Allow ones of the document, in order.
func (d *Document) effect(deny bool) []stmtRef {
	if deny {
		return d.order[:d.denies]
	}
	return d.order[d.denies:]
}

// statement is one parsed statement of a document, compiled: every connection given the
// document shares it.
type statement struct {
	sid         string
	deny        bool
	notAction   bool
	actions     []pattern
	actionMatch []matcher // action patterns hold no variables
	notResource bool
	resources   []pattern
	// resourceMatch holds the resources compiled; their variables take the connection's
	// values as they are matched.
	resourceMatch []matcher
	conditions    []condition
}

// policyVersion is the only policy language version accepted.
// AWS: IoT policies use version "2012-10-17" (the one with policy variables).
const policyVersion = "2012-10-17"

// Parse reads one policy document. name labels the document in errors and explanations.
// Errors name the document and, where it applies, the statement index, e.g.
// `policy policyDocuments[2]: statement 1: Effect "allow" is not Allow or Deny`.
// Parse never panics, whatever src holds.
func Parse(name string, src []byte) (*Document, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("policy %s: %s", name, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail("empty document")
		}
		return nil, fail("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("invalid JSON: unexpected data after the policy object")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, fail("a policy must be a JSON object, not %s", jsonText(root))
	}
	// AWS (inferred): unknown keys are refused rather than ignored, as IAM does. "Id" is
	// IAM's optional document label.
	if err := checkKeys(obj, "Version", "Id", "Statement"); err != nil {
		return nil, fail("%v", err)
	}
	if v, ok := obj["Version"]; ok && v != policyVersion {
		return nil, fail("Version %s is not %q", jsonText(v), policyVersion)
	}
	if v, ok := obj["Id"]; ok {
		if _, isString := v.(string); !isString {
			return nil, fail("Id must be a string")
		}
	}
	var list []any
	switch v := obj["Statement"].(type) {
	case []any:
		list = v
	case map[string]any:
		list = []any{v} // IAM: a single statement may stand without an array.
	case nil:
		return nil, fail("Statement is required")
	default:
		return nil, fail("Statement must be an object or an array of objects")
	}
	doc := &Document{Name: name, text: string(src), statements: make([]statement, 0, len(list))}
	for i, item := range list {
		st, err := parseStatement(item)
		if err != nil {
			return nil, fail("statement %d: %v", i, err)
		}
		doc.statements = append(doc.statements, st)
	}
	doc.order = make([]stmtRef, 0, len(doc.statements))
	for _, deny := range [...]bool{true, false} {
		for i := range doc.statements {
			st := &doc.statements[i]
			if st.deny != deny {
				continue
			}
			r := stmtRef{resources: st.resourceMatch, index: int32(i), notResource: st.notResource}
			for bit, a := range knownActions {
				if st.matchesAction(a) {
					r.actionBits |= 1 << bit
				}
			}
			doc.order = append(doc.order, r)
		}
		if deny {
			doc.denies = len(doc.order)
		}
	}
	return doc, nil
}

// parseStatement reads one statement object.
func parseStatement(item any) (statement, error) {
	var st statement
	obj, ok := item.(map[string]any)
	if !ok {
		return st, fmt.Errorf("a statement must be a JSON object, not %s", jsonText(item))
	}
	if err := checkKeys(obj, "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"); err != nil {
		return st, err
	}
	if v, ok := obj["Sid"]; ok {
		if st.sid, ok = v.(string); !ok {
			return st, fmt.Errorf("Sid must be a string")
		}
	}
	switch effect := obj["Effect"]; effect {
	case EffectAllow:
	case EffectDeny:
		st.deny = true
	case nil:
		return st, fmt.Errorf("Effect is required")
	default:
		// AWS (inferred): Effect values are case-sensitive, as in IAM.
		return st, fmt.Errorf("Effect %s is not Allow or Deny", jsonText(effect))
	}

	key, actions, err := exactlyOne(obj, "Action", "NotAction")
	if err != nil {
		return st, err
	}
	st.notAction = key == "NotAction"
	for _, a := range actions {
		// AWS (inferred): action names are case-insensitive, as IAM documents for its
		// actions; '*' and '?' are wildcards, and there are no variables.
		p := parsePattern(a, false)
		st.actions = append(st.actions, p)
		st.actionMatch = append(st.actionMatch, p.resolve(nil, true))
	}

	key, resources, err := exactlyOne(obj, "Resource", "NotResource")
	if err != nil {
		return st, err
	}
	st.notResource = key == "NotResource"
	for _, r := range resources {
		p := parsePattern(r, true)
		st.resources = append(st.resources, p)
		st.resourceMatch = append(st.resourceMatch, p.compile())
	}

	if raw, ok := obj["Condition"]; ok {
		if st.conditions, err = parseConditions(raw); err != nil {
			return st, err
		}
	}
	return st, nil
}

// exactlyOne reads whichever of the keys a and notA the statement has (it must have exactly
// one) as a string or a non-empty array of non-empty strings.
func exactlyOne(obj map[string]any, a, notA string) (key string, vals []string, err error) {
	_, hasA := obj[a]
	_, hasNot := obj[notA]
	switch {
	case hasA && hasNot:
		return "", nil, fmt.Errorf("has both %s and %s; use one", a, notA)
	case !hasA && !hasNot:
		return "", nil, fmt.Errorf("needs %s or %s", a, notA)
	case hasNot:
		a = notA
	}
	switch v := obj[a].(type) {
	case string:
		if v == "" {
			return "", nil, fmt.Errorf("%s is empty", a)
		}
		return a, []string{v}, nil
	case []any:
		if len(v) == 0 {
			return "", nil, fmt.Errorf("%s is an empty array", a)
		}
		for i, item := range v {
			s, ok := item.(string)
			if !ok || s == "" {
				return "", nil, fmt.Errorf("%s[%d] must be a non-empty string, not %s", a, i, jsonText(item))
			}
			vals = append(vals, s)
		}
		return a, vals, nil
	}
	return "", nil, fmt.Errorf("%s must be a string or an array of strings, not %s", a, jsonText(obj[a]))
}

// checkKeys refuses any key of obj not in allowed, naming the first one (in sorted order).
func checkKeys(obj map[string]any, allowed ...string) error {
	for _, k := range sortedKeys(obj) {
		if slices.Contains(allowed, k) {
			continue
		}
		for _, a := range allowed {
			if strings.EqualFold(a, k) {
				return fmt.Errorf("unknown key %q (keys are case-sensitive: did you mean %q?)", k, a)
			}
		}
		if k == "Principal" || k == "NotPrincipal" {
			return fmt.Errorf("unknown key %q (an IoT policy has no principal: it applies to the connection it is returned for)", k)
		}
		return fmt.Errorf("unknown key %q", k)
	}
	return nil
}

// sortedKeys returns the keys of m in order, so that errors and explanations are stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonText renders a decoded JSON value for an error message, shortened if long.
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := strings.TrimSuffix(b.String(), "\n")
	const limit = 60
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
