// Package certauth is AWS IoT's X.509 client-certificate authentication and the part of the
// account it reads: registered certificates and CA certificates with their statuses, named
// IoT policies with their versions and attachments, and things with their principals.
//
// One Registry is the store that the emulator's YAML configuration, its Go API and the
// control plane all write through; Authenticate reads it to turn a device's certificate into
// a principal and its policy documents, as custom authentication turns a token into them.
package certauth

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of registry operations. They are wrapped with context; match them with errors.Is.
var (
	ErrNotFound              = errors.New("resource not found")
	ErrAlreadyExists         = errors.New("resource already exists")
	ErrInvalid               = errors.New("invalid request")
	ErrDeleteConflict        = errors.New("delete conflict")
	ErrCertificateState      = errors.New("certificate state")
	ErrCertificateValidation = errors.New("certificate validation")
	ErrMalformedPolicy       = errors.New("malformed policy")
	ErrVersionsLimit         = errors.New("versions limit exceeded")
	ErrRegistrationCode      = errors.New("registration code validation")
	ErrVersionConflict       = errors.New("version conflict")
	ErrLimitExceeded         = errors.New("limit exceeded")
)

// Status is the status of a certificate or CA certificate.
type Status string

// Certificate statuses. AWS: ACTIVE | INACTIVE | REVOKED | PENDING_TRANSFER | REGISTER_INACTIVE
// | PENDING_ACTIVATION; a CA certificate is ACTIVE or INACTIVE.
const (
	StatusActive            Status = "ACTIVE"
	StatusInactive          Status = "INACTIVE"
	StatusRevoked           Status = "REVOKED"
	StatusPendingTransfer   Status = "PENDING_TRANSFER"
	StatusRegisterInactive  Status = "REGISTER_INACTIVE"
	StatusPendingActivation Status = "PENDING_ACTIVATION"
)

// validStatus reports whether s is a certificate status AWS knows.
func validStatus(s Status) bool {
	switch s {
	case StatusActive, StatusInactive, StatusRevoked, StatusPendingTransfer, StatusRegisterInactive, StatusPendingActivation:
		return true
	}
	return false
}

// Certificate modes. AWS: DEFAULT (signed by a CA registered in the account, or issued by AWS
// IoT) or SNI_ONLY (registered without a CA).
const (
	ModeDefault = "DEFAULT"
	ModeSNIOnly = "SNI_ONLY"
)

// Certificate is a registered device certificate.
type Certificate struct {
	ID               string // AWS: the SHA-256 of the DER encoding, in lower-case hex
	ARN              string
	PEM              string
	Cert             *x509.Certificate
	Status           Status
	CACertificateID  string // "" when registered without a CA or issued by the emulator
	Mode             string
	CreationDate     time.Time
	LastModifiedDate time.Time
}

// CACertificate is a registered CA certificate.
type CACertificate struct {
	ID               string
	ARN              string
	PEM              string
	Cert             *x509.Certificate
	Status           Status // ACTIVE or INACTIVE
	AutoRegistration bool   // AWS: autoRegistrationStatus ENABLE | DISABLE
	Mode             string
	CreationDate     time.Time
	LastModifiedDate time.Time
}

// Registry is the account's store of certificates, CA certificates, named policies and
// things. It is safe for concurrent use; what it returns are copies.
type Registry struct {
	region, account string
	now             func() time.Time

	mu           sync.RWMutex
	certs        map[string]*Certificate   // by ID
	cas          map[string]*CACertificate // by ID
	policies     map[string]*Policy        // by name
	targets      map[string]map[string]bool
	things       map[string]*Thing // by name
	registration string            // the account's registration code, made on first request

	onChange func() // see OnChange
}

// OnChange sets f to be called after every change that can matter to an open connection: a
// certificate's status, its deletion, a policy's default version, attachments of policies and
// things, a thing's attributes. It is called without the registry's lock. Set it before the
// registry is shared.
func (r *Registry) OnChange(f func()) { r.onChange = f }

// changed calls the OnChange function, if any.
func (r *Registry) changed() {
	if r.onChange != nil {
		r.onChange()
	}
}

// NewRegistry returns an empty registry for an account; now is the clock of its dates.
func NewRegistry(region, account string, now func() time.Time) *Registry {
	return &Registry{
		region: region, account: account, now: now,
		certs:    map[string]*Certificate{},
		cas:      map[string]*CACertificate{},
		policies: map[string]*Policy{},
		targets:  map[string]map[string]bool{},
		things:   map[string]*Thing{},
	}
}

// CertificateID returns AWS's id of a certificate: the SHA-256 of its DER encoding in hex.
func CertificateID(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// CertificateARN is arn:aws:iot:REGION:ACCOUNT:cert/ID.
func (r *Registry) CertificateARN(id string) string {
	return "arn:aws:iot:" + r.region + ":" + r.account + ":cert/" + id
}

// CACertificateARN is arn:aws:iot:REGION:ACCOUNT:cacert/ID.
func (r *Registry) CACertificateARN(id string) string {
	return "arn:aws:iot:" + r.region + ":" + r.account + ":cacert/" + id
}

// Certificate returns a copy of a registered certificate.
func (r *Registry) Certificate(id string) (Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.certs[id]
	if !ok {
		return Certificate{}, fmt.Errorf("%w: certificate %s", ErrNotFound, id)
	}
	return *c, nil
}

// Certificates returns copies of every registered certificate, oldest first.
func (r *Registry) Certificates() []Certificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Certificate, 0, len(r.certs))
	for _, c := range r.certs {
		out = append(out, *c)
	}
	sortByDate(out, func(c Certificate) (time.Time, string) { return c.CreationDate, c.ID })
	return out
}

// CACertificate returns a copy of a registered CA certificate.
func (r *Registry) CACertificate(id string) (CACertificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.cas[id]
	if !ok {
		return CACertificate{}, fmt.Errorf("%w: CA certificate %s", ErrNotFound, id)
	}
	return *c, nil
}

// CACertificates returns copies of every registered CA certificate, oldest first.
func (r *Registry) CACertificates() []CACertificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]CACertificate, 0, len(r.cas))
	for _, c := range r.cas {
		out = append(out, *c)
	}
	sortByDate(out, func(c CACertificate) (time.Time, string) { return c.CreationDate, c.ID })
	return out
}
