package scenarios

import (
	"crypto/rsa"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// credentials are what a device sends to name its authorizer and prove its token: in the MQTT
// username's query string, or for wss and https in HTTP headers or the URL's query string.
type credentials struct {
	params      []param // in the order the device sends them
	username    string
	hasUsername bool
	password    []byte
	hasPassword bool
}

// param is one credential parameter.
type param struct {
	key, value string
	raw        bool // sent in a query string without URL encoding
}

// credentialsOf builds a client's credentials. Defaults come from the authorizer the client
// names, else the scenario's default authorizer: its tokenKeyName, and the key behind its
// first signing key.
func (sc *Scenario) credentialsOf(c *client, keys map[string]*rsa.PrivateKey) (credentials, error) {
	var cr credentials
	var auth *authorizer
	switch {
	case c.Authorizer != nil:
		auth = sc.setup.Authorizers[*c.Authorizer]
		cr.params = append(cr.params, param{key: customauth.ParamAuthorizerName, value: *c.Authorizer})
	case sc.setup.DefaultAuthorizer != nil:
		auth = sc.setup.Authorizers[sc.setup.DefaultAuthorizer.name]
	}
	if c.Token != nil {
		key := c.TokenKeyName
		if key == "" && auth != nil {
			key = auth.TokenKeyName
		}
		if key == "" {
			key = "token"
		}
		cr.params = append(cr.params, param{key: key, value: *c.Token})
	}
	keyName := ""
	switch {
	case c.Signature == "none":
	case c.SignWith != nil:
		keyName = c.SignWith.name
	case auth != nil:
		keyName = auth.firstKey()
	}
	if keyName != "" {
		signed := ""
		switch {
		case c.SignedValue != nil:
			signed = *c.SignedValue
		case c.Token != nil:
			signed = *c.Token
		}
		sig, err := customauth.Sign(keys[keyName], signed)
		if err != nil {
			return cr, fmt.Errorf("sign with key %s: %w", keyName, err)
		}
		raw := c.URLEncodeSignature != nil && !*c.URLEncodeSignature
		cr.params = append(cr.params, param{key: customauth.ParamSignature, value: sig, raw: raw})
	}
	switch {
	case c.RawUsername != nil:
		cr.username, cr.hasUsername = *c.RawUsername, true
	case c.Transport == "mqtt" || c.Transport == "" || c.CredentialsIn == "username":
		cr.username = c.Username
		if q := cr.query(); q != "" {
			cr.username += "?" + q
		}
		cr.hasUsername = cr.username != ""
	default:
		cr.username, cr.hasUsername = c.Username, c.Username != ""
	}
	if c.Password != nil {
		cr.password, cr.hasPassword = []byte(*c.Password), true
	}
	return cr, nil
}

// firstKey names the key of setup.keys behind the authorizer's first signing key (in name
// order), which clients sign with by default; "" when signing is disabled or there is none.
func (a *authorizer) firstKey() string {
	if a.SigningDisabled || len(a.SigningKeys) == 0 {
		return ""
	}
	return a.SigningKeys[slices.Sorted(maps.Keys(a.SigningKeys))[0]].name
}

// query encodes the parameters as a query string, leaving raw ones as they are.
func (cr credentials) query() string {
	parts := make([]string, len(cr.params))
	for i, p := range cr.params {
		v := p.value
		if !p.raw {
			v = url.QueryEscape(v)
		}
		parts[i] = url.QueryEscape(p.key) + "=" + v
	}
	return strings.Join(parts, "&")
}

// header sets the parameters as HTTP headers.
func (cr credentials) header(h http.Header) {
	for _, p := range cr.params {
		h.Set(p.key, p.value)
	}
}
