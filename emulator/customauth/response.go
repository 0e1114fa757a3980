package customauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// The rules AWS IoT applies to an authorizer function's answer.
const (
	// MaxResponseBytes is the largest answer: Lambda's 6 MB synchronous response limit.
	MaxResponseBytes = 6 * 1024 * 1024
	// MaxPrincipalIDLength is the longest principalId. AWS: 1-128 characters [a-zA-Z0-9].
	MaxPrincipalIDLength = 128
	// MaxPolicyDocuments is the most policy documents. AWS: at most 10.
	MaxPolicyDocuments = 10
	// MaxPolicyDocumentLength is the longest policy document in characters. AWS: 2048.
	MaxPolicyDocumentLength = 2048
	// MinSessionSeconds is the smallest refreshAfterInSeconds / disconnectAfterInSeconds.
	// AWS: 300.
	MinSessionSeconds = 300
	// MaxSessionSeconds is the largest refreshAfterInSeconds / disconnectAfterInSeconds.
	// AWS: 86400.
	MaxSessionSeconds = 86400
	// DefaultDisconnectAfter applies when disconnectAfterInSeconds is absent or 0.
	// AWS: 86400 seconds.
	DefaultDisconnectAfter = MaxSessionSeconds * time.Second
)

// Response is an authorizer function's answer once validated.
type Response struct {
	// IsAuthenticated is the function's verdict. When it is false the other fields are zero:
	// the remaining rules are not applied.
	IsAuthenticated bool
	// PrincipalID is the principal the connection runs as.
	PrincipalID string
	// PolicyDocuments holds each document as JSON text: an object compacted (insignificant
	// whitespace removed, key order and escapes kept), a string taken as sent.
	PolicyDocuments []string
	// RefreshAfter is when to invoke the function again; 0 means never.
	RefreshAfter time.Duration
	// DisconnectAfter is when to close the connection, counted from connect.
	DisconnectAfter time.Duration
}

// ResponseError says which rule an answer broke. It becomes the
// CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR reason.
type ResponseError struct {
	// Field is the response field the rule is about; empty for the answer as a whole.
	Field string
	// Problem says what is wrong, quoting the offending value (truncated if long).
	Problem string
}

// Error implements error.
func (e *ResponseError) Error() string {
	if e.Field == "" {
		return "invalid authorizer response: " + e.Problem
	}
	return "invalid authorizer response: " + e.Field + ": " + e.Problem
}

// ValidateResponse decodes and checks an authorizer function's answer, with these rules in
// this order:
//
//   - at most MaxResponseBytes, valid JSON, a JSON object; unknown keys are ignored
//     (AWS (inferred)); key names are case-sensitive;
//   - isAuthenticated present and a JSON boolean; if false, nothing else is checked and the
//     result has IsAuthenticated false (AWS (inferred): a refusal need not be a well-formed
//     grant, and is reported as NOT_AUTHENTICATED rather than as an invalid answer);
//   - principalId a string of 1-128 characters [a-zA-Z0-9] (AWS);
//   - policyDocuments absent, null or an array of at most 10 entries (AWS), each a JSON object
//     or a JSON string holding one (AWS (inferred): older libraries send strings), each at most
//     2048 characters (AWS), counted in Unicode characters of its JSON text as described on
//     Response.PolicyDocuments;
//   - disconnectAfterInSeconds and refreshAfterInSeconds absent, null, 0 (unset: aws-lambda-go
//     sends 0 for a field the function left alone, AWS (inferred)) or a whole number in
//     300..86400 (AWS).
//
// A broken rule is returned as a *ResponseError.
func ValidateResponse(raw []byte) (*Response, error) {
	if len(raw) > MaxResponseBytes {
		return nil, &ResponseError{Problem: fmt.Sprintf("%d bytes, more than Lambda's %d-byte limit", len(raw), MaxResponseBytes)}
	}
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, &ResponseError{Problem: fmt.Sprintf("not valid JSON (%v): %q", err, truncate(string(raw)))}
	}
	if kind := jsonKind(raw); kind != "an object" {
		return nil, &ResponseError{Problem: fmt.Sprintf("a JSON object is required, got %s: %s", kind, quoteJSON(raw))}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, &ResponseError{Problem: err.Error()}
	}

	authRaw, ok := fields["isAuthenticated"]
	if !ok {
		// AWS (inferred): a missing isAuthenticated is an invalid answer, not a refusal.
		return nil, missingField(fields, "isAuthenticated")
	}
	var isAuthenticated bool
	if jsonKind(authRaw) != "a boolean" || json.Unmarshal(authRaw, &isAuthenticated) != nil {
		return nil, &ResponseError{Field: "isAuthenticated", Problem: fmt.Sprintf("must be true or false, got %s: %s", jsonKind(authRaw), quoteJSON(authRaw))}
	}
	if !isAuthenticated {
		return &Response{}, nil
	}

	resp := &Response{IsAuthenticated: true}
	var err error
	if resp.PrincipalID, err = principalID(fields); err != nil {
		return nil, err
	}
	if resp.PolicyDocuments, err = policyDocuments(fields["policyDocuments"]); err != nil {
		return nil, err
	}
	disconnect, err := sessionSeconds(fields, "disconnectAfterInSeconds")
	if err != nil {
		return nil, err
	}
	resp.DisconnectAfter = DefaultDisconnectAfter
	if disconnect != 0 {
		resp.DisconnectAfter = time.Duration(disconnect) * time.Second
	}
	// AWS (inferred): refreshAfterInSeconds absent or 0 means no refresh before disconnect.
	refresh, err := sessionSeconds(fields, "refreshAfterInSeconds")
	if err != nil {
		return nil, err
	}
	resp.RefreshAfter = time.Duration(refresh) * time.Second
	return resp, nil
}

// principalID applies AWS's principalId rule: 1-128 characters, only [a-zA-Z0-9].
func principalID(fields map[string]json.RawMessage) (string, error) {
	raw, ok := fields["principalId"]
	if !ok {
		return "", missingField(fields, "principalId")
	}
	var id string
	if jsonKind(raw) != "a string" || json.Unmarshal(raw, &id) != nil {
		return "", &ResponseError{Field: "principalId", Problem: fmt.Sprintf("must be a string, got %s: %s", jsonKind(raw), quoteJSON(raw))}
	}
	n := utf8.RuneCountInString(id)
	switch {
	case n == 0:
		return "", &ResponseError{Field: "principalId", Problem: "must not be empty (1-128 characters [a-zA-Z0-9])"}
	case n > MaxPrincipalIDLength:
		return "", &ResponseError{Field: "principalId", Problem: fmt.Sprintf("%d characters, at most %d allowed: %q", n, MaxPrincipalIDLength, truncate(id))}
	}
	for i, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return "", &ResponseError{Field: "principalId", Problem: fmt.Sprintf("%q has %q at byte %d; only [a-zA-Z0-9] is allowed", truncate(id), r, i)}
		}
	}
	return id, nil
}

// policyDocuments returns each document's JSON text (see Response.PolicyDocuments).
func policyDocuments(raw json.RawMessage) ([]string, error) {
	if raw == nil || jsonKind(raw) == "null" {
		return nil, nil
	}
	var entries []json.RawMessage
	if jsonKind(raw) != "an array" || json.Unmarshal(raw, &entries) != nil {
		return nil, &ResponseError{Field: "policyDocuments", Problem: fmt.Sprintf("must be an array, got %s: %s", jsonKind(raw), quoteJSON(raw))}
	}
	if len(entries) > MaxPolicyDocuments {
		return nil, &ResponseError{Field: "policyDocuments", Problem: fmt.Sprintf("%d documents, at most %d allowed", len(entries), MaxPolicyDocuments)}
	}
	docs := make([]string, 0, len(entries))
	for i, entry := range entries {
		field := fmt.Sprintf("policyDocuments[%d]", i)
		var doc string
		switch jsonKind(entry) {
		case "an object":
			var buf bytes.Buffer
			if err := json.Compact(&buf, entry); err != nil {
				return nil, &ResponseError{Field: field, Problem: err.Error()}
			}
			doc = buf.String()
		case "a string":
			if err := json.Unmarshal(entry, &doc); err != nil {
				return nil, &ResponseError{Field: field, Problem: err.Error()}
			}
			// AWS (inferred): a string entry must hold a JSON object, as a policy is one.
			if !json.Valid([]byte(doc)) || jsonKind([]byte(doc)) != "an object" {
				return nil, &ResponseError{Field: field, Problem: fmt.Sprintf("the string does not hold a JSON object: %q", truncate(doc))}
			}
		default:
			return nil, &ResponseError{Field: field, Problem: fmt.Sprintf("must be a JSON object or a string holding one, got %s: %s", jsonKind(entry), quoteJSON(entry))}
		}
		if n := utf8.RuneCountInString(doc); n > MaxPolicyDocumentLength {
			return nil, &ResponseError{Field: field, Problem: fmt.Sprintf("%d characters, at most %d allowed: %q", n, MaxPolicyDocumentLength, truncate(doc))}
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// sessionSeconds reads refreshAfterInSeconds or disconnectAfterInSeconds: 0 when absent, null
// or 0, else a whole number in 300..86400.
func sessionSeconds(fields map[string]json.RawMessage, field string) (int, error) {
	raw, ok := fields[field]
	if !ok || jsonKind(raw) == "null" {
		return 0, nil
	}
	if jsonKind(raw) != "a number" {
		return 0, &ResponseError{Field: field, Problem: fmt.Sprintf("must be a number, got %s: %s", jsonKind(raw), quoteJSON(raw))}
	}
	var f float64
	err := json.Unmarshal(raw, &f) // fails only for a number too large for a float64
	switch {
	case err == nil && f == 0:
		return 0, nil
	case err == nil && f != math.Trunc(f):
		return 0, &ResponseError{Field: field, Problem: fmt.Sprintf("must be a whole number of seconds, got %s", quoteJSON(raw))}
	case err != nil || f < MinSessionSeconds || f > MaxSessionSeconds:
		return 0, &ResponseError{Field: field, Problem: fmt.Sprintf("%s is outside %d..%d", quoteJSON(raw), MinSessionSeconds, MaxSessionSeconds)}
	}
	return int(f), nil
}

// missingField reports a required field that is absent, pointing at a key that differs only
// in case if there is one.
func missingField(fields map[string]json.RawMessage, field string) *ResponseError {
	for k := range fields {
		if strings.EqualFold(k, field) {
			return &ResponseError{Field: field, Problem: fmt.Sprintf("missing (found %q: keys are case-sensitive)", truncate(k))}
		}
	}
	return &ResponseError{Field: field, Problem: "missing"}
}

// jsonKind names the type of a valid JSON value from its first significant byte.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// quoteJSON renders a JSON value for a message, truncated if long.
func quoteJSON(raw []byte) string {
	return truncate(string(bytes.TrimSpace(raw)))
}
