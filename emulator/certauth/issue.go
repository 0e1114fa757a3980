package certauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/iotemu/iotemu/internal/certs"
)

// Issuer signs device certificates: the certificates of CreateKeysAndCertificate and of the
// emulator's Go helpers, or, in tests, those of a customer's own CA. Its CA is not registered
// in the account by itself.
type Issuer struct {
	Cert *x509.Certificate
	ca   *certs.CA
}

// NewIssuer creates an issuer with a fresh ECDSA P-256 CA.
func NewIssuer() (*Issuer, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, fmt.Errorf("device issuer: %w", err)
	}
	return &Issuer{Cert: ca.Cert, ca: ca}, nil
}

// Issue signs a client certificate for pub with subject, valid from notBefore to notAfter.
func (i *Issuer) Issue(pub crypto.PublicKey, subject pkix.Name, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	c, err := i.ca.Sign(&x509.Certificate{
		Subject:     subject,
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, pub)
	if err != nil {
		return nil, fmt.Errorf("sign device certificate: %w", err)
	}
	return c, nil
}

// KeysAndCertificate is what CreateKeysAndCertificate returns: the private key is given out
// once and never kept.
type KeysAndCertificate struct {
	Certificate
	PublicKeyPEM, PrivateKeyPEM string
}

// CreateKeysAndCertificate makes a key pair and a certificate the issuer signs, and registers
// it. AWS: an RSA 2048 key pair; the certificate is valid until 2049-12-31 23:59:59 UTC; the
// status is ACTIVE only with setAsActive.
func (r *Registry) CreateKeysAndCertificate(iss *Issuer, active bool) (KeysAndCertificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return KeysAndCertificate{}, fmt.Errorf("generate key pair: %w", err)
	}
	now := r.now()
	// AWS (inferred): the subject AWS writes into the certificates it issues.
	c, err := iss.Issue(key.Public(), pkix.Name{CommonName: "AWS IoT Certificate"}, now.Add(-time.Minute), time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC))
	if err != nil {
		return KeysAndCertificate{}, err
	}
	status := StatusInactive
	if active {
		status = StatusActive
	}
	rc, err := r.AddCertificate(c, "", ModeDefault, status)
	if err != nil {
		return KeysAndCertificate{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return KeysAndCertificate{}, fmt.Errorf("encode public key: %w", err)
	}
	return KeysAndCertificate{
		Certificate:   rc,
		PublicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
	}, nil
}
