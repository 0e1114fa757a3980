package certs

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateCAReusesTheSameCA(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCA(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateCA(dir, nil)
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
	if _, err := LoadOrCreateCA(dir, nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, CAKeyFile))
	if _, err := LoadOrCreateCA(dir, nil); err == nil {
		t.Fatal("a CA without its key was accepted")
	}
	os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600)
	if _, err := LoadOrCreateCA(dir, nil); err == nil {
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

// TestLoadOrCreateCAWarnsOfAnUnprotectedKey: as ssh does, a CA key that others can read is
// used with a warning; a key only its owner can read loads silently.
func TestLoadOrCreateCAWarnsOfAnUnprotectedKey(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir := t.TempDir()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := LoadOrCreateCA(dir, logger); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir, logger); err != nil || logs.Len() != 0 {
		t.Fatalf("a 0600 key: %v, logged %q", err, logs.String())
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir, logger); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "UNPROTECTED PRIVATE KEY FILE") || !strings.Contains(got, "0644") || !strings.Contains(got, keyPath) {
		t.Fatalf("a world-readable key logged %q", got)
	}
}
