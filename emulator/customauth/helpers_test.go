package customauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/iotemu/iotemu/lambdarunner"
)

// testKeys are generated once per test binary: 2048-bit RSA generation is slow.
var testKeys struct {
	once       sync.Once
	key1, key2 *rsa.PrivateKey
	err        error
}

// keys returns two distinct 2048-bit RSA keys.
func keys(t testing.TB) (key1, key2 *rsa.PrivateKey) {
	t.Helper()
	testKeys.once.Do(func() {
		if testKeys.key1, testKeys.err = rsa.GenerateKey(rand.Reader, 2048); testKeys.err != nil {
			return
		}
		testKeys.key2, testKeys.err = rsa.GenerateKey(rand.Reader, 2048)
	})
	if testKeys.err != nil {
		t.Fatal(testKeys.err)
	}
	return testKeys.key1, testKeys.key2
}

// publicPEM encodes pub as a PEM "PUBLIC KEY".
func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// mustSign signs token with key.
func mustSign(t testing.TB, key *rsa.PrivateKey, token string) string {
	t.Helper()
	sig, err := Sign(key, token)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// fakeRegistry is an in-memory Registry.
type fakeRegistry struct {
	authorizers map[string]*Authorizer
	def         string
	invokers    map[string]lambdarunner.Invoker
}

func (r *fakeRegistry) Authorizer(name string) (*Authorizer, bool) {
	a, ok := r.authorizers[name]
	return a, ok
}

func (r *fakeRegistry) DefaultAuthorizer() (string, bool) {
	return r.def, r.def != ""
}

func (r *fakeRegistry) Invoker(a *Authorizer) (lambdarunner.Invoker, error) {
	if inv, ok := r.invokers[a.FunctionARN]; ok {
		return inv, nil
	}
	return nil, errors.New("function not found: " + a.FunctionARN)
}

// invokerFunc adapts a function to lambdarunner.Invoker.
type invokerFunc func(ctx context.Context, event []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, event []byte) ([]byte, error) { return f(ctx, event) }

// signedWithPlus returns a token whose signature by key contains both '+' and '/', the
// characters that a query string must URL-encode.
func signedWithPlus(t testing.TB, key *rsa.PrivateKey) (token, signature string) {
	t.Helper()
	for i := range 100 {
		token = "token-" + strconv.Itoa(i)
		signature = mustSign(t, key, token)
		if strings.Contains(signature, "+") && strings.Contains(signature, "/") {
			return token, signature
		}
	}
	t.Fatal("no signature with '+' and '/' in 100 tries")
	return "", ""
}
