package customauth

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// The parameter names AWS IoT reads from the MQTT username query, the HTTP headers and the HTTP
// query string. AWS (inferred): they match case-insensitively in all three places (clients
// send X-Amz-CustomAuthorizer-Name).
const (
	// ParamAuthorizerName names the authorizer to use.
	ParamAuthorizerName = "x-amz-customauthorizer-name"
	// ParamSignature carries the token's signature (standard base64, URL-encoded in a query).
	ParamSignature = "x-amz-customauthorizer-signature"
)

// ErrMalformedUsername is returned by ParseUsername for a username with a second '?'.
var ErrMalformedUsername = errors.New("malformed username")

// Param is one key=value pair of a query string, both URL-decoded.
type Param struct {
	// Key is the parameter's name.
	Key string
	// Value is the parameter's value; empty for "key" or "key=".
	Value string
}

// Credentials is an MQTT username split into the user part and its query parameters.
type Credentials struct {
	// User is the part before the first '?' (possibly empty).
	User string
	// Params are the query parameters in the order sent, SDK metrics included.
	Params []Param
}

// ParseUsername splits an MQTT CONNECT username of the form USER?k=v&k=v.
//
// Parameters are found by key, never by position; keys and values are URL-decoded with query
// rules, so an unencoded '+' becomes a space (AWS: the signature must be URL-encoded; an
// unencoded one fails to verify). A value that is not valid URL encoding is kept as sent. A
// username without '?' has no parameters. A username with a second '?' returns the user part,
// no parameters and an error wrapping ErrMalformedUsername (AWS (inferred): a known SDK bug
// produced such usernames and AWS rejected them).
func ParseUsername(username string) (Credentials, error) {
	user, query, found := strings.Cut(username, "?")
	c := Credentials{User: user}
	if !found {
		return c, nil
	}
	if i := strings.IndexByte(query, '?'); i >= 0 {
		return c, fmt.Errorf("%w: a second '?' at byte %d", ErrMalformedUsername, len(user)+1+i)
	}
	c.Params = parseParams(query)
	return c, nil
}

// Get returns the value of the first parameter whose key is exactly key.
func (c Credentials) Get(key string) (string, bool) {
	return getParam(c.Params, key, false)
}

// GetFold returns the value of the first parameter whose key equals key ignoring case.
func (c Credentials) GetFold(key string) (string, bool) {
	return getParam(c.Params, key, true)
}

// AuthorizerName returns the x-amz-customauthorizer-name parameter.
func (c Credentials) AuthorizerName() (string, bool) {
	return c.GetFold(ParamAuthorizerName)
}

// Signature returns the x-amz-customauthorizer-signature parameter, URL-decoded.
func (c Credentials) Signature() (string, bool) {
	return c.GetFold(ParamSignature)
}

// parseParams splits a raw query string (without '?'). Unlike url.ParseQuery it accepts ';'
// inside values, which SDK metrics contain (Metadata=(k=v;k2=v2)), and never fails.
func parseParams(query string) []Param {
	var params []Param
	for piece := range strings.SplitSeq(query, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		params = append(params, Param{Key: queryUnescape(k), Value: queryUnescape(v)})
	}
	return params
}

// queryUnescape decodes s with query rules, or returns s unchanged if it is not valid encoding.
func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// getParam returns the first parameter named key.
func getParam(params []Param, key string, fold bool) (string, bool) {
	for _, p := range params {
		if p.Key == key || fold && strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// The places a credential can come from, as the decision trace names them.
const (
	fromUsername = "MQTT username"
	fromHeader   = "HTTP header"
	fromQuery    = "HTTP query string"
	fromDirect   = "test request"
)

// sources are the places of one request where credentials are looked up, in AWS's order.
type sources struct {
	direct   []Param           // Request.Direct
	username *Credentials      // nil unless MQTT with a username
	http     bool              // whether headers and query apply
	headers  map[string]string // HTTP headers
	query    []Param           // HTTP query parameters
}

// find returns the first non-empty value of the parameter name: from the MQTT username, else
// an HTTP header, else the HTTP query string. Header names always match case-insensitively;
// fold makes username and query keys match case-insensitively too.
// AWS (inferred): an empty value counts as absent.
func (s sources) find(name string, fold bool) (value, from string, ok bool) {
	if v, ok := getParam(s.direct, name, fold); ok && v != "" {
		return v, fromDirect, true
	}
	if s.username != nil {
		if v, ok := getParam(s.username.Params, name, fold); ok && v != "" {
			return v, fromUsername, true
		}
	}
	if !s.http {
		return "", "", false
	}
	if v, ok := headerValue(s.headers, name); ok && v != "" {
		return v, fromHeader, true
	}
	if v, ok := getParam(s.query, name, fold); ok && v != "" {
		return v, fromQuery, true
	}
	return "", "", false
}

// describe lists the parameter names present in each place, for messages that explain why a
// parameter was not found.
func (s sources) describe() string {
	var parts []string
	keys := func(params []Param) []string {
		names := make([]string, 0, len(params))
		for _, p := range params {
			names = append(names, p.Key)
		}
		return names
	}
	if s.direct != nil {
		parts = append(parts, fmt.Sprintf("test request parameters %q", keys(s.direct)))
	}
	if s.username != nil {
		parts = append(parts, fmt.Sprintf("MQTT username parameters %q", keys(s.username.Params)))
	}
	if s.http {
		parts = append(parts, fmt.Sprintf("HTTP headers %q", slices.Sorted(maps.Keys(s.headers))))
		parts = append(parts, fmt.Sprintf("HTTP query parameters %q", keys(s.query)))
	}
	if len(parts) == 0 {
		return "the request carries no username, headers or query string"
	}
	return "found " + strings.Join(parts, ", ")
}

// headerValue looks name up case-insensitively: an exact match first, else the first match in
// sorted order, so the choice is deterministic.
func headerValue(headers map[string]string, name string) (string, bool) {
	if v, ok := headers[name]; ok {
		return v, true
	}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		if strings.EqualFold(k, name) {
			return headers[k], true
		}
	}
	return "", false
}
