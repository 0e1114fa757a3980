package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// generatedPrefix marks a signing key the emulator creates itself.
const generatedPrefix = "generated:"

// keyring resolves the tokenSigningPublicKeys values of a configuration into PEM public keys,
// creating "generated:" key pairs, whose private halves it keeps for signing.
type keyring struct {
	baseDir, dataDir string
	private          map[string]*rsa.PrivateKey
}

// publicPEM turns one configured key value into PEM text.
func (k *keyring) publicPEM(value string) (string, error) {
	value = strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(value, "-----BEGIN"):
		return value, nil
	case strings.HasPrefix(value, generatedPrefix):
		name := strings.TrimPrefix(value, generatedPrefix)
		key, err := k.generated(name)
		if err != nil {
			return "", err
		}
		return PublicKeyPEM(&key.PublicKey)
	}
	path := value
	if !filepath.IsAbs(path) && k.baseDir != "" {
		path = filepath.Join(k.baseDir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return "", fmt.Errorf("signing key %s: no PEM block", path)
	}
	if block.Type == "PUBLIC KEY" {
		return string(pem.EncodeToMemory(block)), nil
	}
	priv, err := parsePrivateKey(block)
	if err != nil {
		return "", fmt.Errorf("signing key %s: %w", path, err)
	}
	return PublicKeyPEM(&priv.PublicKey)
}

// generated returns the private key NAME, loading it from the data directory or creating it
// there (in memory when there is no data directory).
func (k *keyring) generated(name string) (*rsa.PrivateKey, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("generated signing key name %q must be a plain file name", name)
	}
	if key, ok := k.private[name]; ok {
		return key, nil
	}
	var path string
	if k.dataDir != "" {
		path = filepath.Join(k.dataDir, name+".pem")
		key, err := LoadPrivateKey(path)
		switch {
		case err == nil:
			k.private[name] = key
			return key, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	key, err := GenerateSigningKey()
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", name, err)
	}
	if path != "" {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(k.dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("write signing key: %w", err)
		}
	}
	k.private[name] = key
	return key, nil
}

func parsePrivateKey(block *pem.Block) (*rsa.PrivateKey, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("key is %T, AWS IoT token signing keys are RSA", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a public or private key", block.Type)
}

// PublicKeyPEM encodes pub as the PEM "PUBLIC KEY" AWS IoT takes as a token signing key.
func PublicKeyPEM(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// LoadPrivateKey reads an RSA private key from a PEM file (PKCS#1 or PKCS#8), such as a
// generated signing key in the data directory.
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return key, nil
}

// ParsePrivateKeyPEM reads an RSA private key from PEM text (PKCS#1 or PKCS#8); text before
// the block, such as a comment, is ignored.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return parsePrivateKey(block)
}
