package customauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestSignMatchesOpenSSLConvention(t *testing.T) {
	key1, _ := keys(t)
	sig := mustSign(t, key1, "aToken")
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature %q is not standard base64: %v", sig, err)
	}
	if len(raw) != 256 || len(sig) != 344 || !strings.HasSuffix(sig, "=") {
		t.Fatalf("signature of %d bytes, %d characters: want 256 bytes as 344 padded characters", len(raw), len(sig))
	}
	// What `openssl dgst -sha256 -sign key.pem | openssl base64 -A` produces.
	sum := sha256.Sum256([]byte("aToken"))
	if err := rsa.VerifyPKCS1v15(&key1.PublicKey, crypto.SHA256, sum[:], raw); err != nil {
		t.Fatalf("not PKCS#1 v1.5 SHA-256: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	key1, key2 := keys(t)
	both := map[string]*rsa.PublicKey{"old": &key2.PublicKey, "new": &key1.PublicKey}
	token, sig1 := signedWithPlus(t, key1)
	sig2 := mustSign(t, key2, token)
	tests := []struct {
		name      string
		keys      map[string]*rsa.PublicKey
		token     string
		signature string
		wantKey   string
		wantErr   error
		wantMsg   string
	}{
		{"first key", both, token, sig1, "new", nil, ""},
		{"second key", both, token, sig2, "old", nil, ""},
		{"wrong key", map[string]*rsa.PublicKey{"k": &key2.PublicKey}, token, sig1, "", ErrSignatureMismatch, `none of the keys ["k"]`},
		{"signed another value", both, "anotherToken", sig1, "", ErrSignatureMismatch, "over another value"},
		{"no keys", nil, token, sig1, "", ErrSignatureMismatch, "no token signing keys"},
		{"empty", both, token, "", "", ErrSignatureMismatch, ""},
		{"not base64", both, token, "!!!", "", ErrSignatureEncoding, ""},
		{"url-safe alphabet", both, token, strings.NewReplacer("+", "-", "/", "_").Replace(sig1), "", ErrSignatureEncoding, ""},
		{"plus read as space", both, token, strings.ReplaceAll(sig1, "+", " "), "", ErrSignatureEncoding, "not URL-encoded"},
		{"truncated", both, token, sig1[:len(sig1)-4], "", ErrSignatureMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, err := VerifySignature(tt.keys, tt.token, tt.signature)
			if name != tt.wantKey || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("VerifySignature() = %q, %v; want %q, %v", name, err, tt.wantKey, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	key1, _ := keys(t)
	good := publicPEM(t, &key1.PublicKey)
	pub, err := ParsePublicKeyPEM(good)
	if err != nil || !pub.Equal(&key1.PublicKey) {
		t.Fatalf("ParsePublicKeyPEM(good) = %v, %v", pub, err)
	}
	for name, text := range map[string]string{
		"empty":           "",
		"private key":     strings.Replace(good, "PUBLIC KEY", "PRIVATE KEY", 2),
		"pkcs1 block":     strings.Replace(good, "PUBLIC KEY", "RSA PUBLIC KEY", 2),
		"corrupt content": strings.Replace(good, "MII", "MIJ", 1),
	} {
		if _, err := ParsePublicKeyPEM(text); err == nil {
			t.Errorf("ParsePublicKeyPEM(%s) = nil error", name)
		}
	}
}
