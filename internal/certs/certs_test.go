package certs

import (
	"bytes"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateCAReusesTheSameCA(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.PEM(), second.PEM()) {
		t.Fatal("second load made a new CA instead of reusing the stored one")
	}
	if fi, err := os.Stat(filepath.Join(dir, CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestLoadOrCreateCARefusesHalfACA(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateCA(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, CAKeyFile))
	if _, err := LoadOrCreateCA(dir); err == nil {
		t.Fatal("a CA without its key was accepted")
	}
	os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600)
	if _, err := LoadOrCreateCA(dir); err == nil {
		t.Fatal("a garbage CA key was accepted")
	}
}

func TestIssuedCertificateVerifiesForEndpointNames(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue([]string{"*.iot.us-east-1.amazonaws.com", "localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"abc123-ats.iot.us-east-1.amazonaws.com", "localhost", "127.0.0.1"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "abc123-ats.iot.eu-west-1.amazonaws.com", Roots: ca.Pool()}); err == nil {
		t.Error("certificate verified for another region's endpoint")
	}
}
