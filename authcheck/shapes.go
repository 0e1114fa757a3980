package authcheck

import (
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// shape is one event shape AWS IoT can send, built from the device's credentials.
type shape struct {
	name string
	// req is what the transport saw; verified the signatureVerified AWS sends.
	req      customauth.Request
	verified bool
	// token is the token the event carries.
	token string
	// mustAllow: the device's own credentials, exactly as it sends them; the function must
	// authenticate them.
	mustAllow bool
}

// shapes returns every event shape AWS IoT can send for the device: MQTT with and without
// password and client ID, signatureVerified false, HTTPS publish with credentials in headers
// and in the query string, MQTT over WSS with the upgrade's headers, a refresh of the first
// connection, TestInvokeAuthorizer's token-only event, and unicode, empty and long values.
func (c *checker) shapes() []shape {
	d := c.device
	signed := !d.SigningDisabled
	host := c.emu.Endpoint()
	creds := c.credentials()
	base := customauth.Request{
		ConnectionID: uuid.NewString(),
		Protocols:    customauth.ProtocolsMQTT,
		ServerName:   host,
		HasUsername:  true,
		Username:     creds.Username(),
		ClientID:     d.ClientID,
	}
	if d.Password != nil {
		base.HasPassword, base.Password = true, []byte(*d.Password)
	}
	with := func(name string, change func(*customauth.Request)) shape {
		r := base
		change(&r)
		r.ConnectionID = uuid.NewString()
		return shape{name: name, req: r, verified: signed, token: d.Token}
	}
	params := map[string]string{customauth.ParamAuthorizerName: d.Authorizer, d.TokenKeyName: d.Token}
	if creds.Signature != "" {
		params[customauth.ParamSignature] = creds.Signature
	}
	query := url.Values{}
	for k, v := range params {
		query.Set(k, v)
	}
	long := strings.Repeat("x", 4096)
	out := []shape{
		{name: "mqtt", req: base, verified: signed, token: d.Token, mustAllow: true},
		with("mqtt-other-password", func(r *customauth.Request) {
			// AWS: the password reaches the function base64-encoded.
			r.HasPassword, r.Password = !base.HasPassword, []byte("p@ss wörd")
		}),
		with("mqtt-no-client-id", func(r *customauth.Request) { r.ClientID = "" }),
		with("mqtt-no-username", func(r *customauth.Request) { r.HasUsername, r.Username = false, "" }),
		{name: "mqtt-signature-not-verified", req: base, verified: false, token: d.Token},
		with("https-headers", func(r *customauth.Request) {
			r.Protocols, r.HasUsername, r.Username, r.HasPassword, r.Password, r.ClientID = customauth.ProtocolsHTTPS, false, "", false, nil, ""
			r.Headers = map[string]string{"host": host, "content-type": "application/json", "user-agent": "curl/8.5.0"}
			for k, v := range params {
				r.Headers[k] = v
			}
		}),
		with("https-query", func(r *customauth.Request) {
			r.Protocols, r.HasUsername, r.Username, r.HasPassword, r.Password, r.ClientID = customauth.ProtocolsHTTPS, false, "", false, nil, ""
			r.Headers = map[string]string{"host": host}
			r.QueryString = "qos=1&" + query.Encode()
		}),
		with("wss", func(r *customauth.Request) {
			r.Protocols = customauth.ProtocolsWSS
			r.Headers = map[string]string{"host": host, "connection": "Upgrade", "upgrade": "websocket", "sec-websocket-protocol": "mqtt",
				"sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
			for k, v := range params {
				r.Headers[k] = v
			}
		}),
		with("wss-query", func(r *customauth.Request) {
			r.Protocols = customauth.ProtocolsWSS
			r.Headers = map[string]string{"host": host, "connection": "Upgrade", "upgrade": "websocket", "sec-websocket-protocol": "mqtt"}
			r.QueryString = query.Encode()
			r.HasUsername, r.Username = false, ""
		}),
		{name: "refresh", req: base, verified: signed, token: d.Token}, // AWS (inferred): the same connectionMetadata.id
		// AWS: TestInvokeAuthorizer sends the token alone; protocolData is absent.
		{name: "test-invoke-authorizer", req: customauth.Request{Protocols: customauth.ProtocolsMQTT}, verified: signed, token: d.Token},
		with("unicode", func(r *customauth.Request) {
			r.Username = "gerät-设备?" + strings.SplitN(r.Username, "?", 2)[1]
			r.ClientID = "gerät-设备-😀"
		}),
		with("empty-values", func(r *customauth.Request) {
			r.Username = "?" + strings.SplitN(r.Username, "?", 2)[1]
			r.HasPassword, r.Password = true, []byte{}
		}),
		with("long-values", func(r *customauth.Request) {
			r.Username = long + "?" + strings.SplitN(r.Username, "?", 2)[1] + "&SDK=" + long
			r.ClientID = long[:128] // AWS: client IDs are at most 128 bytes
			r.HasPassword, r.Password = true, []byte(long)
		}),
	}
	return out
}
