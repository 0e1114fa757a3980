package customauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// are omitted.
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
	return e.encode()
}

// newEvent returns the event BuildEvent encodes.
func newEvent(req Request, a *Authorizer, token string, signatureVerified bool) (*event, error) {
	if a == nil {
		return nil, errors.New("build event: nil authorizer")
	}
	e := &event{
		Token: token,
		// AWS: signatureVerified is false when signing is disabled.
		SignatureVerified: signatureVerified && !a.SigningDisabled,
		Protocols:         req.Protocols,
	}
	if e.Protocols == nil {
		e.Protocols = []string{} // a TestInvokeAuthorizer call with no context: "protocols": []
	}
	var pd protocolData
	if req.ServerName != "" {
		pd.TLS = &tlsContext{ServerName: req.ServerName}
	}
	if slices.Contains(req.Protocols, ProtocolHTTP) {
		pd.HTTP = &httpContext{Headers: req.Headers}
		if req.QueryString != "" {
			// AWS: http.queryString keeps its leading '?'.
			pd.HTTP.QueryString = "?" + req.QueryString
		}
	}
	if slices.Contains(req.Protocols, ProtocolMQTT) {
		m := &mqttContext{ClientID: req.ClientID}
		if req.HasUsername {
			// AWS (inferred): the raw CONNECT username, query string and SDK metrics included.
			m.Username = &req.Username
		}
		if req.HasPassword {
			// AWS: the password reaches the function base64-encoded.
			p := base64.StdEncoding.EncodeToString(req.Password)
			m.Password = &p
		}
		pd.MQTT = m
	}
	if pd != (protocolData{}) {
		e.ProtocolData = &pd
	}
	if req.ConnectionID != "" {
		e.ConnectionMetadata = &connectionMetadata{ID: req.ConnectionID}
	}
	return e, nil
}

// encode returns e as JSON.
func (e *event) encode() ([]byte, error) {
	// Encode as AWS does, without Go's HTML escaping ('&' in a username stays '&').
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("build event: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
