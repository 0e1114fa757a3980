package certauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Issuer signs device certificates: the certificates of CreateKeysAndCertificate and of the
// emulator's Go helpers. Its CA is never registered in the account; what it issues is
// registered certificate by certificate, as AWS registers what it issues.
type Issuer struct {
	Cert *x509.Certificate
	key  crypto.Signer
}

// NewIssuer creates an issuer with a fresh ECDSA P-256 CA.
func NewIssuer() (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate device issuer key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "iotemu device issuer", Organization: []string{"iotemu"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create device issuer: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse device issuer: %w", err)
	}
	return &Issuer{Cert: c, key: key}, nil
}

// Issue signs a client certificate for pub with subject, valid from notBefore to notAfter.
func (i *Issuer) Issue(pub crypto.PublicKey, subject pkix.Name, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, i.Cert, pub, i.key)
	if err != nil {
		return nil, fmt.Errorf("sign device certificate: %w", err)
	}
	return x509.ParseCertificate(der)
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

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
