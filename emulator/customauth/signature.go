package customauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Errors returned by VerifySignature, in a *SignatureError with the details.
var (
	// ErrSignatureEncoding means the signature is not standard base64 with padding.
	ErrSignatureEncoding = errors.New("signature is not valid base64")
	// ErrSignatureMismatch means no configured key verifies the signature over the token.
	ErrSignatureMismatch = errors.New("signature does not verify")
)

// SignatureError is VerifySignature's error: Kind is ErrSignatureEncoding or
// ErrSignatureMismatch, Detail says why.
type SignatureError struct {
	Kind   error
	Detail string
}

// Error implements error.
func (e *SignatureError) Error() string { return e.Kind.Error() + ": " + e.Detail }

// Unwrap returns Kind.
func (e *SignatureError) Unwrap() error { return e.Kind }

// Sign signs token as a device or its backend does for AWS IoT: RSA PKCS#1 v1.5 over the
// SHA-256 of exactly the token bytes, returned as standard base64 with padding. Put it in a
// query string URL-encoded (url.QueryEscape); in an HTTP header, as is.
func Sign(key *rsa.PrivateKey, token string) (string, error) {
	sum := sha256.Sum256([]byte(token))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifySignature checks signature (standard base64 with padding, already URL-decoded) over
// token with each key in name order and returns the name of the first key that verifies it.
// The error is a *SignatureError, which wraps ErrSignatureEncoding or ErrSignatureMismatch.
// Results are remembered per key, by pointer: a key must not be modified once used.
func VerifySignature(keys map[string]*rsa.PublicKey, token, signature string) (keyName string, err error) {
	// AWS: the signature travels as standard base64 with padding.
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		msg := err.Error()
		if strings.Contains(signature, " ") {
			// AWS: the documented failure of a signature that was not URL-encoded.
			msg += "; it contains a space: a '+' was probably read as a space because the signature was not URL-encoded"
		}
		return "", &SignatureError{Kind: ErrSignatureEncoding, Detail: msg}
	}
	if len(keys) == 0 {
		return "", &SignatureError{Kind: ErrSignatureMismatch, Detail: "the authorizer has no token signing keys"}
	}
	names := slices.Sorted(maps.Keys(keys))
	// AWS (inferred): any of the configured keys may verify the signature (key rotation).
	for _, name := range names {
		if k := keys[name]; k != nil && verifies(k, token, signature, sig) {
			return name, nil
		}
	}
	return "", &SignatureError{Kind: ErrSignatureMismatch, Detail: fmt.Sprintf(
		"none of the keys %q verifies a %d-byte RSA PKCS#1 v1.5 SHA-256 signature over the %d-byte token (signed with another key, or over another value than the token)",
		names, len(sig), len(token))}
}

// verifications remembers which keys verify which signatures. RSA PKCS#1 v1.5 verification is
// deterministic, so a remembered result is the one a new check would give; a device that
// reconnects with the same token and signature skips the RSA operation. Keys are compared by
// identity: Authorizer.PublicKeys returns one *rsa.PublicKey per PEM text.
var verifications = memo[verification, bool]{max: maxVerifications}

// maxVerifications bounds verifications, and maxVerificationBytes the token and signature an
// entry may hold (longer ones are checked every time): at most a few megabytes in all.
const (
	maxVerifications     = 1024
	maxVerificationBytes = 2048
)

// verification is a key of verifications.
type verification struct {
	key              *rsa.PublicKey
	token, signature string
}

// verifies reports whether sig (signature, base64-decoded) is key's signature over token.
func verifies(key *rsa.PublicKey, token, signature string, sig []byte) bool {
	v := verification{key, token, signature}
	if ok, found := verifications.get(v); found {
		return ok
	}
	sum := sha256.Sum256([]byte(token))
	ok := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil
	if len(token)+len(signature) <= maxVerificationBytes {
		v.token, v.signature = strings.Clone(token), strings.Clone(signature)
		verifications.put(v, ok)
	}
	return ok
}

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" (PKIX) block holding an RSA key of at least
// 2048 bits, the only kind AWS IoT accepts as a token signing key.
func ParsePublicKeyPEM(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\"", truncate(block.Type))
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	rsaKey, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want RSA", pub)
	}
	// AWS: RSA keys of at least 2048 bits.
	if bits := rsaKey.N.BitLen(); bits < MinRSAKeyBits {
		return nil, fmt.Errorf("RSA key has %d bits, at least %d required", bits, MinRSAKeyBits)
	}
	return rsaKey, nil
}
