package customauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
)

func TestAuthorizerValidate(t *testing.T) {
	key1, _ := keys(t)
	goodPEM := publicPEM(t, &key1.PublicKey)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	valid := func() *Authorizer {
		return &Authorizer{
			Name:                   "MyAuth",
			FunctionARN:            "arn:aws:lambda:us-east-1:123456789012:function:auth",
			TokenKeyName:           "token",
			TokenSigningPublicKeys: map[string]string{"key1": goodPEM},
			Status:                 StatusActive,
		}
	}
	tests := []struct {
		name   string
		modify func(a *Authorizer)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Authorizer) {}, ""},
		{"empty status is active", func(a *Authorizer) { a.Status = "" }, ""},
		{"inactive", func(a *Authorizer) { a.Status = StatusInactive }, ""},
		{"name with allowed punctuation", func(a *Authorizer) { a.Name = "a_b=c,d@e-f" }, ""},
		{"signing disabled needs no key or token key", func(a *Authorizer) {
			a.SigningDisabled, a.TokenKeyName, a.TokenSigningPublicKeys = true, "", nil
		}, ""},
		{"empty name", func(a *Authorizer) { a.Name = "" }, "authorizerName: must not be empty"},
		{"long name", func(a *Authorizer) { a.Name = strings.Repeat("a", 129) }, "authorizerName: 129 characters"},
		{"128-char name", func(a *Authorizer) { a.Name = strings.Repeat("a", 128) }, ""},
		{"name with space", func(a *Authorizer) { a.Name = "my auth" }, `authorizerName: "my auth" does not match`},
		{"name with slash", func(a *Authorizer) { a.Name = "a/b" }, "authorizerName"},
		{"no function", func(a *Authorizer) { a.FunctionARN = "" }, "authorizerFunctionArn"},
		{"bad status", func(a *Authorizer) { a.Status = "active" }, `status: "active"`},
		{"token key name missing", func(a *Authorizer) { a.TokenKeyName = "" }, "tokenKeyName: required"},
		{"token key name bad", func(a *Authorizer) { a.TokenKeyName = "tok.en" }, `tokenKeyName: "tok.en"`},
		{"token key name bad even when signing disabled", func(a *Authorizer) {
			a.SigningDisabled, a.TokenKeyName = true, "to ken"
		}, "tokenKeyName"},
		{"keys missing", func(a *Authorizer) { a.TokenSigningPublicKeys = nil }, "tokenSigningPublicKeys: required"},
		{"key not PEM", func(a *Authorizer) { a.TokenSigningPublicKeys["key1"] = "hello" }, "no PEM block"},
		{"key too small", func(a *Authorizer) {
			a.TokenSigningPublicKeys["key1"] = publicPEM(t, &small.PublicKey)
		}, "1024 bits, at least 2048"},
		{"key not RSA", func(a *Authorizer) {
			a.TokenSigningPublicKeys["key1"] = publicPEM(t, &ec.PublicKey)
		}, "want RSA"},
		{"bad key name", func(a *Authorizer) {
			a.TokenSigningPublicKeys = map[string]string{"key 1": goodPEM}
		}, `key name "key 1"`},
		{"key too long", func(a *Authorizer) {
			a.TokenSigningPublicKeys["key1"] = strings.Repeat("x", 5121)
		}, "5121 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			tt.modify(a)
			err := a.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestAuthorizerValidateReportsEveryProblem(t *testing.T) {
	err := (&Authorizer{}).Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, field := range []string{"authorizerName", "authorizerFunctionArn", "tokenKeyName", "tokenSigningPublicKeys"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to mention %s", err, field)
		}
	}
}

func TestAuthorizerActive(t *testing.T) {
	for status, want := range map[Status]bool{"": true, StatusActive: true, StatusInactive: false} {
		if got := (&Authorizer{Status: status}).Active(); got != want {
			t.Errorf("Active() with status %q = %v, want %v", status, got, want)
		}
	}
}
