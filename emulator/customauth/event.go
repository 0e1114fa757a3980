package customauth

import (
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The protocol names of the event's protocols list.
const (
	// ProtocolTLS: every custom-authenticated request arrives over TLS.
	ProtocolTLS = "tls"
	// ProtocolHTTP: a WebSocket upgrade or an HTTPS publish.
	ProtocolHTTP = "http"
	// ProtocolMQTT: an MQTT CONNECT, directly or over WebSockets.
	ProtocolMQTT = "mqtt"
)

// The protocols lists of the three ways a device reaches custom authentication. They are
// shared: do not modify them.
var (
	// ProtocolsMQTT is MQTT over TLS (ALPN mqtt). AWS: documented example.
	ProtocolsMQTT = []string{ProtocolTLS, ProtocolMQTT}
	// ProtocolsWSS is MQTT over WebSockets. AWS (inferred).
	ProtocolsWSS = []string{ProtocolTLS, ProtocolHTTP, ProtocolMQTT}
	// ProtocolsHTTPS is an HTTPS publish. AWS (inferred).
	ProtocolsHTTPS = []string{ProtocolTLS, ProtocolHTTP}
)

// The event mirrors aws-lambda-go's events.IoTCoreCustomAuthorizerRequest (same names, same
// order) but omits what does not apply to the request. AWS: fields not relevant to the request
// are omitted. Its json tags are the reference encode is tested against.
type event struct {
	Token              string              `json:"token,omitempty"`
	SignatureVerified  bool                `json:"signatureVerified"`
	Protocols          []string            `json:"protocols"`
	ProtocolData       *protocolData       `json:"protocolData,omitempty"`
	ConnectionMetadata *connectionMetadata `json:"connectionMetadata,omitempty"`
}

type protocolData struct {
	TLS  *tlsContext  `json:"tls,omitempty"`
	HTTP *httpContext `json:"http,omitempty"`
	MQTT *mqttContext `json:"mqtt,omitempty"`
}

type tlsContext struct {
	ServerName string `json:"serverName"`
}

type httpContext struct {
	Headers     map[string]string `json:"headers,omitempty"`
	QueryString string            `json:"queryString,omitempty"`
}

type mqttContext struct {
	ClientID string  `json:"clientId,omitempty"`
	Password *string `json:"password,omitempty"`
	Username *string `json:"username,omitempty"`
}

type connectionMetadata struct {
	ID string `json:"id"`
}

// BuildEvent returns the JSON event AWS IoT sends to authorizer a's function for req:
//
//	{"token": "...", "signatureVerified": true, "protocols": ["tls", "mqtt"],
//	 "protocolData": {"tls": {"serverName": "..."},
//	                  "http": {"headers": {...}, "queryString": "?a=b"},
//	                  "mqtt": {"clientId": "...", "password": "BASE64", "username": "..."}},
//	 "connectionMetadata": {"id": "UUID"}}
//
// token is omitted when empty; tls when the SNI is unknown; http unless the protocols include
// http (headers when there are any, queryString with its leading '?' when there is one); mqtt
// unless they include mqtt (clientId, password and username each only when sent);
// connectionMetadata when req.ConnectionID is empty; protocolData when nothing goes in it (a
// TestInvokeAuthorizer call with only a token and signature). signatureVerified is forced false when
// a has signing disabled. The event decodes into events.IoTCoreCustomAuthorizerRequest.
func BuildEvent(req Request, a *Authorizer, token string, signatureVerified bool) ([]byte, error) {
	e, err := newEvent(req, a, token, signatureVerified)
	if err != nil {
		return nil, err
	}
	return e.encode(), nil
}

// newEvent returns the event BuildEvent encodes.
func newEvent(req Request, a *Authorizer, token string, signatureVerified bool) (*event, error) {
	if a == nil {
		return nil, errors.New("build event: nil authorizer")
	}
	p := &eventParts{event: event{
		Token: token,
		// AWS: signatureVerified is false when signing is disabled.
		SignatureVerified: signatureVerified && !a.SigningDisabled,
		Protocols:         req.Protocols,
	}}
	e := &p.event
	if e.Protocols == nil {
		e.Protocols = []string{} // a TestInvokeAuthorizer call with no context: "protocols": []
	}
	if req.ServerName != "" {
		p.tls.ServerName = req.ServerName
		p.pd.TLS = &p.tls
	}
	if slices.Contains(req.Protocols, ProtocolHTTP) {
		p.http.Headers = req.Headers
		if req.QueryString != "" {
			// AWS: http.queryString keeps its leading '?'.
			p.http.QueryString = "?" + req.QueryString
		}
		p.pd.HTTP = &p.http
	}
	if slices.Contains(req.Protocols, ProtocolMQTT) {
		p.mqtt.ClientID = req.ClientID
		if req.HasUsername {
			// AWS (inferred): the raw CONNECT username, query string and SDK metrics included.
			p.username = req.Username
			p.mqtt.Username = &p.username
		}
		if req.HasPassword {
			// AWS: the password reaches the function base64-encoded.
			p.password = base64.StdEncoding.EncodeToString(req.Password)
			p.mqtt.Password = &p.password
		}
		p.pd.MQTT = &p.mqtt
	}
	if p.pd != (protocolData{}) {
		e.ProtocolData = &p.pd
	}
	if req.ConnectionID != "" {
		p.cm.ID = req.ConnectionID
		e.ConnectionMetadata = &p.cm
	}
	return e, nil
}

// eventParts holds an event and what it points to, so that building one takes one allocation.
type eventParts struct {
	event
	pd                 protocolData
	tls                tlsContext
	http               httpContext
	mqtt               mqttContext
	username, password string
	cm                 connectionMetadata
}

// encode returns e as JSON, as encoding/json writes it with HTML escaping off (AWS does not
// escape '&' in a username): members in the struct's order, the ones marked omitempty left
// out when empty, header names sorted. It is written out by hand, without reflection,
// because it runs twice per connect (the event and its redacted copy for the trace).
func (e *event) encode() []byte {
	b := make([]byte, 0, 256+e.size())
	b = append(b, '{')
	if e.Token != "" {
		b = appendMember(b, "token", e.Token)
		b = append(b, ',')
	}
	b = append(b, `"signatureVerified":`...)
	b = strconv.AppendBool(b, e.SignatureVerified)
	b = append(b, `,"protocols":`...)
	if e.Protocols == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range e.Protocols {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
		}
		b = append(b, ']')
	}
	if pd := e.ProtocolData; pd != nil {
		b = append(b, `,"protocolData":{`...)
		sep := false
		if pd.TLS != nil {
			b = append(b, `"tls":{`...)
			b = appendMember(b, "serverName", pd.TLS.ServerName)
			b = append(b, '}')
			sep = true
		}
		if h := pd.HTTP; h != nil {
			if sep {
				b = append(b, ',')
			}
			b = append(b, `"http":{`...)
			if len(h.Headers) > 0 {
				b = append(b, `"headers":{`...)
				for i, k := range slices.Sorted(maps.Keys(h.Headers)) {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendMember(b, k, h.Headers[k])
				}
				b = append(b, '}')
			}
			if h.QueryString != "" {
				if len(h.Headers) > 0 {
					b = append(b, ',')
				}
				b = appendMember(b, "queryString", h.QueryString)
			}
			b = append(b, '}')
			sep = true
		}
		if m := pd.MQTT; m != nil {
			if sep {
				b = append(b, ',')
			}
			b = append(b, `"mqtt":{`...)
			msep := false
			for _, f := range [...]struct {
				name  string
				value *string
			}{{"clientId", &m.ClientID}, {"password", m.Password}, {"username", m.Username}} {
				if f.value == nil || f.name == "clientId" && *f.value == "" {
					continue
				}
				if msep {
					b = append(b, ',')
				}
				b = appendMember(b, f.name, *f.value)
				msep = true
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if cm := e.ConnectionMetadata; cm != nil {
		b = append(b, `,"connectionMetadata":{`...)
		b = appendMember(b, "id", cm.ID)
		b = append(b, '}')
	}
	return append(b, '}')
}

// size is the length of e's strings, to size its encoding.
func (e *event) size() int {
	n := len(e.Token)
	if pd := e.ProtocolData; pd != nil {
		if pd.TLS != nil {
			n += len(pd.TLS.ServerName)
		}
		if h := pd.HTTP; h != nil {
			n += len(h.QueryString)
			for k, v := range h.Headers {
				n += len(k) + len(v) + 6
			}
		}
		if m := pd.MQTT; m != nil {
			n += len(m.ClientID)
			if m.Password != nil {
				n += len(*m.Password)
			}
			if m.Username != nil {
				n += len(*m.Username)
			}
		}
	}
	return n
}

// appendMember appends "name":"value".
func appendMember(b []byte, name, value string) []byte {
	b = appendJSONString(b, name)
	b = append(b, ':')
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string exactly as encoding/json writes it with HTML
// escaping off: '"', '\\' and control characters escaped (\b \f \n \r \t by name, the
// others as \u00XX), invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
