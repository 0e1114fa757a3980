package certauth

import (
	"cmp"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"time"
)

// maxPEM bounds a certificate's PEM text. AWS: certificatePem is 1 to 65536 characters.
const maxPEM = 65536

// ParsePEM decodes the first CERTIFICATE block of text.
func ParsePEM(text string) (*x509.Certificate, error) {
	if len(text) == 0 || len(text) > maxPEM {
		return nil, fmt.Errorf("%w: the certificate PEM must be 1 to %d characters", ErrInvalid, maxPEM)
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: the text holds no PEM CERTIFICATE block", ErrCertificateValidation)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertificateValidation, err)
	}
	return c, nil
}

// EncodePEM returns the PEM text of a certificate.
func EncodePEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// AddCertificate registers a device certificate. caID names the CA certificate that signed it
// ("" for none: SNI_ONLY mode, or mode DEFAULT for a certificate the emulator issued itself).
func (r *Registry) AddCertificate(c *x509.Certificate, caID string, mode string, status Status) (Certificate, error) {
	if !validStatus(status) {
		return Certificate{}, fmt.Errorf("%w: status %q", ErrInvalid, status)
	}
	now := r.now()
	// AWS (inferred): an expired or not yet valid certificate is refused at registration.
	if now.After(c.NotAfter) || now.Before(c.NotBefore) {
		return Certificate{}, fmt.Errorf("%w: the certificate is valid from %s to %s", ErrCertificateValidation, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	id := CertificateID(c)
	rc := &Certificate{ID: id, ARN: r.CertificateARN(id), PEM: EncodePEM(c), Cert: c, Status: status, CACertificateID: caID, Mode: mode, CreationDate: now, LastModifiedDate: now}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.certs[id]; ok {
		return Certificate{}, fmt.Errorf("%w: certificate %s is already registered", ErrAlreadyExists, id)
	}
	r.certs[id] = rc
	return *rc, nil
}

// RegisterCertificate registers a certificate signed by a registered CA, as
// RegisterCertificate does. caPEM may be empty: the CA is then found by the certificate's
// issuer.
func (r *Registry) RegisterCertificate(certPEM, caPEM string, status Status) (Certificate, error) {
	c, err := ParsePEM(certPEM)
	if err != nil {
		return Certificate{}, err
	}
	if status == "" {
		status = StatusInactive // AWS: setAsActive defaults to false
	}
	var ca *CACertificate
	if caPEM != "" {
		cc, err := ParsePEM(caPEM)
		if err != nil {
			return Certificate{}, err
		}
		r.mu.RLock()
		ca = r.cas[CertificateID(cc)]
		r.mu.RUnlock()
		if ca == nil {
			return Certificate{}, fmt.Errorf("%w: the CA certificate is not registered", ErrNotFound)
		}
	} else if ca = r.issuerOf(c); ca == nil {
		return Certificate{}, fmt.Errorf("%w: the certificate is not signed by a CA certificate registered in this account; register the CA or use RegisterCertificateWithoutCA", ErrCertificateValidation)
	}
	if err := c.CheckSignatureFrom(ca.Cert); err != nil {
		return Certificate{}, fmt.Errorf("%w: the certificate is not signed by CA certificate %s: %v", ErrCertificateValidation, ca.ID, err)
	}
	// AWS (inferred): only an ACTIVE CA certificate registers device certificates.
	if ca.Status != StatusActive {
		return Certificate{}, fmt.Errorf("%w: CA certificate %s is %s", ErrCertificateState, ca.ID, ca.Status)
	}
	return r.AddCertificate(c, ca.ID, ca.Mode, status)
}

// RegisterCertificateWithoutCA registers a certificate whose CA is not registered, in
// SNI_ONLY mode, as RegisterCertificateWithoutCA does.
func (r *Registry) RegisterCertificateWithoutCA(certPEM string, status Status) (Certificate, error) {
	c, err := ParsePEM(certPEM)
	if err != nil {
		return Certificate{}, err
	}
	if status == "" {
		status = StatusInactive
	}
	return r.AddCertificate(c, "", ModeSNIOnly, status)
}

// UpdateCertificate changes a certificate's status.
func (r *Registry) UpdateCertificate(id string, status Status) error {
	defer r.changed() // after the lock is released
	if !validStatus(status) {
		return fmt.Errorf("%w: newStatus %q", ErrInvalid, status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.certs[id]
	if !ok {
		return fmt.Errorf("%w: certificate %s", ErrNotFound, id)
	}
	// AWS (inferred): a revoked certificate cannot be brought back.
	if c.Status == StatusRevoked && status != StatusRevoked {
		return fmt.Errorf("%w: certificate %s is REVOKED and cannot change status", ErrCertificateState, id)
	}
	c.Status, c.LastModifiedDate = status, r.now()
	return nil
}

// DeleteCertificate removes a certificate. AWS: refused while the certificate is ACTIVE
// (CertificateStateException) or attached to a thing or, unless forced, to a policy
// (DeleteConflictException).
func (r *Registry) DeleteCertificate(id string, force bool) error {
	defer r.changed() // after the lock is released
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.certs[id]
	if !ok {
		return fmt.Errorf("%w: certificate %s", ErrNotFound, id)
	}
	if c.Status == StatusActive {
		return fmt.Errorf("%w: certificate must be deactivated (not ACTIVE) before deletion", ErrCertificateState)
	}
	for _, t := range r.things {
		if t.principals[c.ARN] {
			return fmt.Errorf("%w: certificate %s is attached to thing %s", ErrDeleteConflict, id, t.Name)
		}
	}
	for name, targets := range r.targets {
		if targets[c.ARN] {
			if !force {
				return fmt.Errorf("%w: certificate %s has policy %s attached", ErrDeleteConflict, id, name)
			}
			delete(targets, c.ARN)
		}
	}
	delete(r.certs, id)
	return nil
}

// issuerOf returns the registered CA certificate that signed c, or nil.
func (r *Registry) issuerOf(c *x509.Certificate) *CACertificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, ca := range r.cas {
		if c.CheckSignatureFrom(ca.Cert) == nil {
			return ca
		}
	}
	return nil
}

// sortByDate sorts s by creation date, then id.
func sortByDate[T any](s []T, key func(T) (time.Time, string)) {
	slices.SortFunc(s, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return cmp.Compare(ia, ib)
	})
}
