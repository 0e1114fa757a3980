package certauth

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// RegistrationCode returns the account's registration code, the common name a verification
// certificate must carry (GetRegistrationCode).
func (r *Registry) RegistrationCode() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.registration == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
		r.registration = hex.EncodeToString(b)
	}
	return r.registration
}

// CARegistration is the request of RegisterCACertificate.
type CARegistration struct {
	CAPEM, VerificationPEM   string
	Active, AutoRegistration bool
	Mode                     string // ModeDefault (the default) or ModeSNIOnly
}

// RegisterCACertificate registers a CA certificate. AWS: in DEFAULT mode the verification
// certificate must be signed by the CA's key and carry the account's registration code as its
// common name; SNI_ONLY mode needs none.
func (r *Registry) RegisterCACertificate(req CARegistration) (CACertificate, error) {
	c, err := ParsePEM(req.CAPEM)
	if err != nil {
		return CACertificate{}, err
	}
	if !c.IsCA {
		return CACertificate{}, fmt.Errorf("%w: the certificate is not a CA certificate (basic constraints CA:FALSE)", ErrCertificateValidation)
	}
	if req.Mode == "" {
		req.Mode = ModeDefault
	}
	switch req.Mode {
	case ModeDefault:
		if req.VerificationPEM == "" {
			return CACertificate{}, fmt.Errorf("%w: verificationCertificate is required in DEFAULT mode", ErrInvalid)
		}
		v, err := ParsePEM(req.VerificationPEM)
		if err != nil {
			return CACertificate{}, err
		}
		if err := v.CheckSignatureFrom(c); err != nil {
			return CACertificate{}, fmt.Errorf("%w: the verification certificate is not signed by the CA certificate: %v", ErrCertificateValidation, err)
		}
		if v.Subject.CommonName != r.RegistrationCode() {
			return CACertificate{}, fmt.Errorf("%w: the verification certificate's common name is not this account's registration code", ErrRegistrationCode)
		}
	case ModeSNIOnly:
	default:
		return CACertificate{}, fmt.Errorf("%w: certificateMode %q", ErrInvalid, req.Mode)
	}
	status := StatusInactive
	if req.Active {
		status = StatusActive
	}
	id := CertificateID(c)
	now := r.now()
	ca := &CACertificate{ID: id, ARN: r.CACertificateARN(id), PEM: EncodePEM(c), Cert: c, Status: status, AutoRegistration: req.AutoRegistration, Mode: req.Mode, CreationDate: now, LastModifiedDate: now}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cas[id]; ok {
		return CACertificate{}, fmt.Errorf("%w: CA certificate %s is already registered", ErrAlreadyExists, id)
	}
	r.cas[id] = ca
	return *ca, nil
}

// UpdateCACertificate changes a CA certificate's status and auto-registration; nil leaves a
// field as it is.
func (r *Registry) UpdateCACertificate(id string, status *Status, autoRegistration *bool) error {
	if status != nil && *status != StatusActive && *status != StatusInactive {
		return fmt.Errorf("%w: newStatus %q: a CA certificate is ACTIVE or INACTIVE", ErrInvalid, *status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ca, ok := r.cas[id]
	if !ok {
		return fmt.Errorf("%w: CA certificate %s", ErrNotFound, id)
	}
	if status != nil {
		ca.Status = *status
	}
	if autoRegistration != nil {
		ca.AutoRegistration = *autoRegistration
	}
	ca.LastModifiedDate = r.now()
	return nil
}

// DeleteCACertificate removes a CA certificate. AWS: only an INACTIVE one
// (CertificateStateException otherwise). The certificates registered with it stay.
func (r *Registry) DeleteCACertificate(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ca, ok := r.cas[id]
	if !ok {
		return fmt.Errorf("%w: CA certificate %s", ErrNotFound, id)
	}
	if ca.Status != StatusInactive {
		return fmt.Errorf("%w: CA certificate %s must be INACTIVE to be deleted", ErrCertificateState, id)
	}
	delete(r.cas, id)
	return nil
}
