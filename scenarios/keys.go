package scenarios

import (
	"crypto/rand"
	"crypto/rsa"
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
