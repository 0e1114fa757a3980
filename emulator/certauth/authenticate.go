package certauth

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/iotemu/iotemu/emulator/policy"
)

// AuthenticationType is the authenticationType of a Connection.AuthNError entry for a
// certificate connection. AWS (inferred): AWS names the X.509 method this way.
const AuthenticationType = "X509"

// Reasons of the Connection.AuthNError entries certificate authentication writes.
// AWS (inferred): the stored copies of the developer guide do not list the reasons of
// certificate failures; these names say what happened and live here only, so they can be
// switched in one place.
const (
	ReasonNotRegistered  = "CERTIFICATE_NOT_REGISTERED"
	ReasonUnknownCA      = "CA_CERTIFICATE_NOT_REGISTERED"
	ReasonNotActive      = "CERTIFICATE_NOT_ACTIVE"
	ReasonExpired        = "CERTIFICATE_EXPIRED"
	ReasonNotYetValid    = "CERTIFICATE_NOT_YET_VALID"
	ReasonPendingJITR    = "CERTIFICATE_PENDING_ACTIVATION"
	DetailsNotAuthorized = "Authentication failed"
)

// Result is a certificate connection that authenticated: its principal and what its
// policies are compiled with.
type Result struct {
	// PrincipalID is the certificate's id. AWS: the principal of a certificate connection is
	// the certificate id, the SHA-256 of its DER encoding in hex.
	PrincipalID    string
	CertificateARN string
	// Documents are the default versions of the policies attached to the certificate, Texts
	// their JSON and PolicyNames their names, in the same order.
	Documents   []*policy.Document
	Texts       []string
	PolicyNames []string
	// Variables are the policy variables of the connection (see policy.Context.Variables).
	Variables map[string]string
	// Thing is the thing the client ID names when it is attached to the certificate.
	Thing string
}

// Failure is a certificate the account does not let connect.
type Failure struct {
	PrincipalID string // the certificate id
	Reason      string // one of the Reason* constants
	// Message explains the refusal for the decision trace.
	Message string
	// Registered is set when the connection registered the certificate (just-in-time
	// registration).
	Registered *Certificate
}

// Error implements error.
func (f *Failure) Error() string { return f.Reason + ": " + f.Message }

// Authenticate checks the certificate a device presented (chain[0]; the rest of the chain is
// ignored, as AWS looks the certificate up by its id) against the registry at now, for an
// MQTT client ID ("" for HTTPS). It returns a *Failure when the certificate may not connect.
func (r *Registry) Authenticate(chain []*x509.Certificate, clientID string, now time.Time) (*Result, error) {
	if len(chain) == 0 {
		return nil, &Failure{Reason: ReasonNotRegistered, Message: "the client presented no certificate"}
	}
	leaf := chain[0]
	id := CertificateID(leaf)
	c, err := r.Certificate(id)
	if err != nil {
		return nil, r.unregistered(leaf, id, now)
	}
	switch {
	case now.After(c.Cert.NotAfter):
		return nil, &Failure{PrincipalID: id, Reason: ReasonExpired, Message: fmt.Sprintf("certificate %s expired at %s", id, c.Cert.NotAfter.UTC().Format(time.RFC3339))}
	case now.Before(c.Cert.NotBefore):
		return nil, &Failure{PrincipalID: id, Reason: ReasonNotYetValid, Message: fmt.Sprintf("certificate %s is not valid before %s", id, c.Cert.NotBefore.UTC().Format(time.RFC3339))}
	case c.Status != StatusActive:
		// AWS: "AWS IoT verifies that a client certificate is active when it authenticates a
		// connection."
		return nil, &Failure{PrincipalID: id, Reason: ReasonNotActive, Message: fmt.Sprintf("certificate %s is %s; only an ACTIVE certificate connects (aws iot update-certificate --certificate-id %s --new-status ACTIVE)", id, c.Status, id)}
	}
	res := &Result{PrincipalID: id, CertificateARN: c.ARN, Variables: certificateVariables(leaf)}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, p := range r.attached(c.ARN) {
		res.Documents = append(res.Documents, p.Default().Document)
		res.Texts = append(res.Texts, p.Default().Text)
		res.PolicyNames = append(res.PolicyNames, p.Name)
	}
	// AWS: thing variables are set only when the client ID is the name of a thing the
	// certificate is attached to.
	if t, ok := r.things[clientID]; ok && t.principals[c.ARN] {
		res.Thing = t.Name
		thingVariables(res.Variables, t)
	}
	return res, nil
}

// unregistered refuses a certificate the account does not know, registering it first when a
// registered CA with auto-registration signed it (just-in-time registration).
func (r *Registry) unregistered(leaf *x509.Certificate, id string, now time.Time) error {
	ca := r.issuerOf(leaf)
	if ca == nil {
		return &Failure{PrincipalID: id, Reason: ReasonUnknownCA, Message: fmt.Sprintf("certificate %s is not registered and its issuer (%s) is not a CA certificate registered in this account", id, leaf.Issuer)}
	}
	if ca.Status != StatusActive || !ca.AutoRegistration {
		return &Failure{PrincipalID: id, Reason: ReasonNotRegistered, Message: fmt.Sprintf("certificate %s is not registered; its CA certificate %s is registered but %s with auto-registration %s", id, ca.ID, ca.Status, onOff(ca.AutoRegistration))}
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return &Failure{PrincipalID: id, Reason: ReasonExpired, Message: fmt.Sprintf("certificate %s is outside its validity and is not auto-registered", id)}
	}
	// AWS: with auto-registration, the first connection registers the certificate as
	// PENDING_ACTIVATION and fails; the device connects once it is activated.
	c, err := r.AddCertificate(leaf, ca.ID, ca.Mode, StatusPendingActivation)
	if err != nil {
		return &Failure{PrincipalID: id, Reason: ReasonNotRegistered, Message: "auto-registration failed: " + err.Error()}
	}
	return &Failure{PrincipalID: id, Reason: ReasonPendingJITR, Registered: &c, Message: fmt.Sprintf(
		"certificate %s was registered as PENDING_ACTIVATION by just-in-time registration (CA %s) and this connection fails; activate it (update-certificate --new-status ACTIVE) and attach a policy, then reconnect", id, ca.ID)}
}

func onOff(b bool) string {
	if b {
		return "ENABLE"
	}
	return "DISABLE"
}
