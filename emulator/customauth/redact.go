package customauth

import (
	"encoding/json"
	"strings"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// redactor hides the secrets of one request in its decision trace: the token (wherever it
// travels: the event's token, the username, a header, the query string), the signature and
// the MQTT password. The function still receives them; only the trace is redacted. With
// show set (Authenticator.ShowSecrets) it changes nothing.
type redactor struct {
	show     bool
	tokenKey string // the authorizer's tokenKeyName, once known
}

// signature shows a signature as its first and last characters.
func (r redactor) signature(sig string) string {
	if r.show {
		return sig
	}
	return iotlog.ShortSignature(sig)
}

// secret shows a secret as a short hash.
func (r redactor) secret(s string) string {
	if r.show {
		return s
	}
	return iotlog.Redact(s)
}

// param redacts the value of a username or query parameter that is a secret. Before the
// authorizer (and so its tokenKeyName) is known, every value but the authorizer's name is.
func (r redactor) param(key, value string) string {
	switch {
	case strings.EqualFold(key, ParamSignature):
		return r.signature(value)
	case r.tokenKey == "" && !strings.EqualFold(key, ParamAuthorizerName), strings.EqualFold(key, r.tokenKey):
		return r.secret(value)
	}
	return value
}

// params redacts a USER?k=v&k=v username or a k=v&k=v query string, keeping its shape.
func (r redactor) params(s string) string {
	if r.show || s == "" {
		return s
	}
	head, query, hasQuery := strings.Cut(s, "?")
	if !hasQuery {
		if !strings.Contains(s, "=") {
			return s
		}
		head, query = "", s
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if k, v, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + r.param(k, v)
		}
	}
	if !hasQuery {
		return strings.Join(parts, "&")
	}
	return head + "?" + strings.Join(parts, "&")
}

// event returns the event for the trace: e, which was sent as raw, with its secrets redacted.
func (r redactor) event(e *event, raw []byte) json.RawMessage {
	if r.show {
		return raw
	}
	c := *e // e's fields are shared with what was sent: redact copies
	c.Token = r.secret(c.Token)
	if c.ProtocolData != nil {
		pd := *c.ProtocolData
		if pd.MQTT != nil {
			m := *pd.MQTT
			if m.Username != nil {
				u := r.params(*m.Username)
				m.Username = &u
			}
			if m.Password != nil {
				p := r.secret(*m.Password)
				m.Password = &p
			}
			pd.MQTT = &m
		}
		if pd.HTTP != nil {
			h := httpContext{Headers: make(map[string]string, len(pd.HTTP.Headers)), QueryString: r.params(pd.HTTP.QueryString)}
			for k, v := range pd.HTTP.Headers {
				h.Headers[k] = r.param(k, v)
			}
			pd.HTTP = &h
		}
		c.ProtocolData = &pd
	}
	return c.encode()
}
