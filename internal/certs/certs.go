// Package certs creates the emulator's certificate authority and the endpoint certificates it
// signs.
//
// The CA is an ECDSA P-256 key (fast to create, accepted by every client) kept in a data
// directory so that a device trusts the same CA across restarts. Endpoint certificates are made
// fresh at each start and never written to disk.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// File names inside the data directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// CA is a certificate authority that signs endpoint certificates.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// NewCA creates a CA in memory.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "iotemu local CA", Organization: []string{"iotemu"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// LoadOrCreateCA reads the CA from dir, or creates it there (mode 0600 for the key) when dir
// holds none. A half-written or unreadable CA is an error, never silently replaced.
//
// A key file that others may read or write is loaded, with a warning to logger (nil: none),
// as ssh warns of an unprotected private key.
func LoadOrCreateCA(dir string, logger *slog.Logger) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, errCert := os.ReadFile(certPath)
	keyPEM, errKey := os.ReadFile(keyPath)
	switch {
	case errCert == nil && errKey == nil:
		ca, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("load CA from %s: %w (delete %s and %s to make a new one)", dir, err, CAFile, CAKeyFile)
		}
		if logger != nil {
			warnUnprotected(keyPath, logger)
		}
		return ca, nil
	case errors.Is(errCert, fs.ErrNotExist) && errors.Is(errKey, fs.ErrNotExist):
	case errCert != nil && !errors.Is(errCert, fs.ErrNotExist):
		return nil, fmt.Errorf("load CA: %w", errCert)
	case errKey != nil && !errors.Is(errKey, fs.ErrNotExist):
		return nil, fmt.Errorf("load CA: %w", errKey)
	default:
		return nil, fmt.Errorf("load CA from %s: only one of %s and %s exists", dir, CAFile, CAKeyFile)
	}
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("write CA key: %w", err)
	}
	if err := os.WriteFile(certPath, ca.pem, 0o644); err != nil {
		return nil, fmt.Errorf("write CA certificate: %w", err)
	}
	return ca, nil
}

// warnUnprotected warns when the key file at path can be read or written by anyone but its
// owner: anyone who reads the CA key can make certificates that every device of this emulator
// trusts.
func warnUnprotected(path string, logger *slog.Logger) {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" { // Windows has no Unix permission bits
		return
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		logger.Warn(fmt.Sprintf("UNPROTECTED PRIVATE KEY FILE: permissions %#o for %s are too open; the CA key must not be accessible by others (chmod 600 %s)", perm, path, path),
			"path", path, "mode", fmt.Sprintf("%#o", perm))
	}
}

func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no key block")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("CA key cannot sign")
	}
	return &CA{Cert: cert, key: signer, pem: pem.EncodeToMemory(cb)}, nil
}

// PEM returns the CA certificate in PEM form, as clients need it (e.g. mosquitto's --cafile).
func (ca *CA) PEM() []byte { return append([]byte(nil), ca.pem...) }

// Pool returns a certificate pool that trusts only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue signs a server certificate for the given DNS names and IP addresses.
func (ca *CA) Issue(dnsNames []string, ips []net.IP) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate endpoint key: %w", err)
	}
	now := time.Now()
	cn := "localhost"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	leaf, err := ca.Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dnsNames,
		IPAddresses: ips,
	}, key.Public())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sign endpoint certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// Sign signs a certificate made from tmpl (its serial number is chosen here) for pub.
func (ca *CA) Sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	tmpl.SerialNumber = serial()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
