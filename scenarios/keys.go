package scenarios

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
)

// Token signing keys. Generating a 2048-bit RSA key takes a noticeable fraction of a second, so
// the runner generates a few for the whole process and hands the i-th key a scenario declares
// (in name order) the i-th generated one: keys stay distinct within a scenario, and scenarios,
// each with its own emulator, share them safely.

// generatedKeys is the process's pool of generated keys.
var generatedKeys keyPool

type keyPool struct {
	mu   sync.Mutex
	keys []func() (*rsa.PrivateKey, error)
}

// get returns the i-th generated key, generating it on first use.
func (p *keyPool) get(i int) (*rsa.PrivateKey, error) {
	p.mu.Lock()
	for len(p.keys) <= i {
		p.keys = append(p.keys, sync.OnceValues(func() (*rsa.PrivateKey, error) {
			return rsa.GenerateKey(rand.Reader, 2048) // AWS: token signing keys are RSA, at least 2048 bits
		}))
	}
	gen := p.keys[i]
	p.mu.Unlock()
	return gen()
}

// parsePrivateKey reads an RSA private key from PEM (PKCS#1 or PKCS#8); text before the
// block, such as a comment, is ignored.
func parsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PEM block %q is not an RSA private key", block.Type)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is %T; AWS IoT token signing keys are RSA", k)
	}
	return rk, nil
}

// publicPEM is the PEM "PUBLIC KEY" AWS IoT takes as a token signing key.
func publicPEM(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
