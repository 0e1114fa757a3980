package customauth

import (
	"bytes"
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

// event returns the event for the trace: the one sent, with its secrets redacted.
func (r redactor) event(raw []byte) json.RawMessage {
	if r.show {
		return raw
	}
	var e event
	if err := json.Unmarshal(raw, &e); err != nil {
		return json.RawMessage(`"<the event could not be redacted>"`)
	}
	e.Token = r.secret(e.Token)
	if pd := e.ProtocolData; pd != nil {
		if m := pd.MQTT; m != nil {
			if m.Username != nil {
				u := r.params(*m.Username)
				m.Username = &u
			}
			if m.Password != nil {
				p := r.secret(*m.Password)
				m.Password = &p
			}
		}
		if h := pd.HTTP; h != nil {
			headers := make(map[string]string, len(h.Headers))
			for k, v := range h.Headers {
				headers[k] = r.param(k, v)
			}
			h.Headers = headers
			h.QueryString = r.params(h.QueryString)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return json.RawMessage(`"<the event could not be redacted>"`)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
