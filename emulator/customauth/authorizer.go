package customauth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Status is an authorizer's status.
type Status string

// The statuses an authorizer can have.
const (
	// StatusActive is an authorizer that devices can use.
	StatusActive Status = "ACTIVE"
	// StatusInactive is an authorizer that exists but is not used: connections naming it fail.
	StatusInactive Status = "INACTIVE"
)

// Limits of the authorizer resource, from the AWS IoT service model.
const (
	// MaxAuthorizerNameLength is the longest authorizer name. AWS: 1-128 characters.
	MaxAuthorizerNameLength = 128
	// MaxTokenKeyNameLength is the longest tokenKeyName. AWS: 1-128 characters.
	MaxTokenKeyNameLength = 128
	// MaxKeyNameLength is the longest name of a token signing key. AWS: 1-128 characters.
	MaxKeyNameLength = 128
	// MaxPublicKeyLength is the longest PEM text of a token signing key. AWS: 5120 characters.
	MaxPublicKeyLength = 5120
	// MinRSAKeyBits is the smallest accepted RSA modulus. AWS: keys are RSA, at least 2048 bits.
	MinRSAKeyBits = 2048
)

// AWS: authorizerName pattern [\w=,@-]+; tokenKeyName [a-zA-Z0-9_-]+; key names [a-zA-Z0-9:_-]+.
var (
	authorizerNamePattern = regexp.MustCompile(`^[\w=,@-]+$`)
	tokenKeyNamePattern   = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	keyNamePattern        = regexp.MustCompile(`^[a-zA-Z0-9:_-]+$`)
)

// Authorizer is AWS IoT's authorizer resource.
type Authorizer struct {
	// Name is the authorizer's name (authorizerName).
	Name string
	// FunctionARN is the authorizer function, arn:aws:lambda:REGION:ACCOUNT:function:NAME.
	FunctionARN string
	// TokenKeyName names the parameter (MQTT username query, HTTP header or HTTP query) that
	// carries the token.
	TokenKeyName string
	// SigningDisabled turns token signature verification off. AWS: false by default.
	SigningDisabled bool
	// TokenSigningPublicKeys maps a key name to a PEM "PUBLIC KEY" (RSA, at least 2048 bits).
	TokenSigningPublicKeys map[string]string
	// Status is ACTIVE or INACTIVE; empty means ACTIVE.
	Status Status
	// EnableCachingForHTTP lets an HTTPS keep-alive connection reuse the authorizer's answer.
	EnableCachingForHTTP bool
	// CreationDate and LastModifiedDate are when the authorizer was created and last changed,
	// as DescribeAuthorizer reports them.
	CreationDate, LastModifiedDate time.Time
}

// Active reports whether the authorizer can be used. AWS (inferred): an empty status is
// ACTIVE, the status CreateAuthorizer gives when none is set.
func (a *Authorizer) Active() bool {
	return a.Status != StatusInactive
}

// Validate checks the authorizer against AWS's rules and returns every problem found (joined
// with errors.Join), each prefixed with the AWS field name.
func (a *Authorizer) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	// AWS: authorizerName is 1-128 characters matching [\w=,@-]+.
	switch {
	case a.Name == "":
		add("authorizerName", "must not be empty")
	case len(a.Name) > MaxAuthorizerNameLength:
		add("authorizerName", "%d characters, at most %d allowed", len(a.Name), MaxAuthorizerNameLength)
	case !authorizerNamePattern.MatchString(a.Name):
		add("authorizerName", "%q does not match [\\w=,@-]+", truncate(a.Name))
	}
	// AWS: authorizerFunctionArn is required.
	if a.FunctionARN == "" {
		add("authorizerFunctionArn", "must not be empty")
	}
	switch a.Status {
	case "", StatusActive, StatusInactive:
	default:
		add("status", "%q is neither ACTIVE nor INACTIVE", truncate(string(a.Status)))
	}
	// AWS: tokenKeyName and tokenSigningPublicKeys are required when signing is enabled.
	switch {
	case a.TokenKeyName == "":
		if !a.SigningDisabled {
			add("tokenKeyName", "required when signing is enabled")
		}
	case len(a.TokenKeyName) > MaxTokenKeyNameLength:
		add("tokenKeyName", "%d characters, at most %d allowed", len(a.TokenKeyName), MaxTokenKeyNameLength)
	case !tokenKeyNamePattern.MatchString(a.TokenKeyName):
		add("tokenKeyName", "%q does not match [a-zA-Z0-9_-]+", truncate(a.TokenKeyName))
	}
	if len(a.TokenSigningPublicKeys) == 0 && !a.SigningDisabled {
		add("tokenSigningPublicKeys", "required when signing is enabled")
	}
	for _, name := range slices.Sorted(maps.Keys(a.TokenSigningPublicKeys)) {
		switch {
		case name == "" || len(name) > MaxKeyNameLength:
			add("tokenSigningPublicKeys", "key name %q must be 1-%d characters", truncate(name), MaxKeyNameLength)
		case !keyNamePattern.MatchString(name):
			add("tokenSigningPublicKeys", "key name %q does not match [a-zA-Z0-9:_-]+", truncate(name))
		}
		pemText := a.TokenSigningPublicKeys[name]
		if len(pemText) > MaxPublicKeyLength {
			add("tokenSigningPublicKeys", "key %q: %d characters, at most %d allowed", truncate(name), len(pemText), MaxPublicKeyLength)
			continue
		}
		if _, err := ParsePublicKeyPEM(pemText); err != nil {
			add("tokenSigningPublicKeys", "key %q: %v", truncate(name), err)
		}
	}
	return errors.Join(errs...)
}

// PublicKeys parses TokenSigningPublicKeys. Parsed keys are remembered by their PEM text, so a
// connect does not parse them again.
func (a *Authorizer) PublicKeys() (map[string]*rsa.PublicKey, error) {
	keys := make(map[string]*rsa.PublicKey, len(a.TokenSigningPublicKeys))
	for name, pemText := range a.TokenSigningPublicKeys {
		if k, ok := parsedKeys.Load(pemText); ok {
			keys[name] = k.(*rsa.PublicKey)
			continue
		}
		k, err := ParsePublicKeyPEM(pemText)
		if err != nil {
			return nil, fmt.Errorf("token signing key %q: %w", name, err)
		}
		parsedKeys.Store(pemText, k)
		keys[name] = k
	}
	return keys, nil
}

// parsedKeys maps PEM text to its parsed *rsa.PublicKey (immutable once parsed).
var parsedKeys sync.Map

// maxQuoted is how much of a user-supplied value an error message quotes.
const maxQuoted = 80

// truncate shortens s for quoting in a message.
func truncate(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes in all)", s[:cut], len(s))
}
