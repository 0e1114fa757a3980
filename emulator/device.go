package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/url"
	"strings"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator/customauth"
)

// GenerateSigningKey creates a token signing key pair as AWS IoT takes it: RSA 2048. Give
// PublicKeyPEM(&key.PublicKey) to an authorizer's TokenSigningPublicKeys and sign tokens
// with SignToken.
func GenerateSigningKey() (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048) // AWS: token signing keys are RSA, at least 2048 bits
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return key, nil
}

// SignToken signs token as a device or its backend does: RSA PKCS#1 v1.5 over the SHA-256 of
// the token, standard base64. DeviceCredentials.Username URL-encodes it for the MQTT username.
func SignToken(key *rsa.PrivateKey, token string) (string, error) {
	return customauth.Sign(key, token)
}

// DeviceCredentials are what a device sends to a custom authorizer.
type DeviceCredentials struct {
	// User is the part of the MQTT username before '?' (may be empty).
	User string
	// Authorizer is the authorizer's name (x-amz-customauthorizer-name); empty uses the
	// default authorizer.
	Authorizer string
	// TokenKeyName is the authorizer's tokenKeyName; Token the token sent under it.
	TokenKeyName, Token string
	// Signature is the token's signature from SignToken, not URL-encoded; empty sends none
	// (an authorizer with signing disabled).
	Signature string
}

// Username is the MQTT username that carries the credentials:
//
//	USER?x-amz-customauthorizer-name=NAME&TOKENKEY=TOKEN&x-amz-customauthorizer-signature=SIG
//
// with every value URL-encoded. AWS: the signature is standard base64, so its '+', '/' and
// '=' must be URL-encoded in a query string, or the signature does not verify.
func (c DeviceCredentials) Username() string {
	var q []string
	add := func(k, v string) { q = append(q, url.QueryEscape(k)+"="+url.QueryEscape(v)) }
	if c.Authorizer != "" {
		add(customauth.ParamAuthorizerName, c.Authorizer)
	}
	if c.TokenKeyName != "" {
		add(c.TokenKeyName, c.Token)
	}
	if c.Signature != "" {
		add(customauth.ParamSignature, c.Signature)
	}
	if len(q) == 0 {
		return c.User
	}
	return c.User + "?" + strings.Join(q, "&")
}

// MQTTOptions returns paho options for a device of this emulator on port 443 with custom
// authentication: the broker address, the client TLS configuration (the emulator's CA, the
// endpoint as SNI, ALPN mqtt; see ClientTLSConfig), the client ID and the username carrying
// creds. Add a password, handlers and timeouts as the device needs.
func (e *Emulator) MQTTOptions(clientID string, creds DeviceCredentials) *mqtt.ClientOptions {
	return mqtt.NewClientOptions().
		AddBroker("tls://" + e.Addr(Port443).String()).
		SetTLSConfig(e.ClientTLSConfig()).
		SetClientID(clientID).
		SetUsername(creds.Username()).
		SetAutoReconnect(false).
		SetConnectRetry(false)
}
