package controlplane

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/iotemu/iotemu/emulator/certauth"
)

// X509Backend is the part of a Backend that serves X.509 authentication: the account's
// registry of certificates, CA certificates, named policies and things, and the issuer of
// CreateKeysAndCertificate. A Backend that implements it gets the certificate, policy and
// thing operations:
//
//	CreateKeysAndCertificate      POST   /keys-and-certificate
//	RegisterCertificate           POST   /certificate/register
//	RegisterCertificateWithoutCA  POST   /certificate/register-no-ca
//	UpdateCertificate             PUT    /certificates/{certificateId}?newStatus=
//	DescribeCertificate           GET    /certificates/{certificateId}
//	DeleteCertificate             DELETE /certificates/{certificateId}
//	ListCertificates              GET    /certificates
//	GetRegistrationCode           GET    /registrationcode
//	RegisterCACertificate         POST   /cacertificate
//	UpdateCACertificate           PUT    /cacertificate/{certificateId}
//	DescribeCACertificate         GET    /cacertificate/{certificateId}
//	DeleteCACertificate           DELETE /cacertificate/{certificateId}
//	ListCACertificates            GET    /cacertificates
//	CreatePolicy                  POST   /policies/{policyName}
//	GetPolicy                     GET    /policies/{policyName}
//	DeletePolicy                  DELETE /policies/{policyName}
//	ListPolicies                  GET    /policies
//	CreatePolicyVersion           POST   /policies/{policyName}/version
//	ListPolicyVersions            GET    /policies/{policyName}/version
//	GetPolicyVersion              GET    /policies/{policyName}/version/{policyVersionId}
//	SetDefaultPolicyVersion       PATCH  /policies/{policyName}/version/{policyVersionId}
//	DeletePolicyVersion           DELETE /policies/{policyName}/version/{policyVersionId}
//	ListTargetsForPolicy          POST   /policy-targets/{policyName}
//	AttachPolicy                  PUT    /target-policies/{policyName}
//	DetachPolicy                  POST   /target-policies/{policyName}
//	ListAttachedPolicies          POST   /attached-policies/{target}
//	GetEffectivePolicies          POST   /effective-policies
//	CreateThing                   POST   /things/{thingName}
//	DescribeThing                 GET    /things/{thingName}
//	UpdateThing                   PATCH  /things/{thingName}
//	DeleteThing                   DELETE /things/{thingName}
//	ListThings                    GET    /things
//	ListPrincipalThings           GET    /principals/things
//	AttachThingPrincipal          PUT    /things/{thingName}/principals
//	DetachThingPrincipal          DELETE /things/{thingName}/principals
//	ListThingPrincipals           GET    /things/{thingName}/principals
//
// Lists are answered in one page.
type X509Backend interface {
	Account() *certauth.Registry
	Issuer() *certauth.Issuer
}

// The exceptions of the certificate, policy and thing operations. AWS: their names and HTTP
// statuses as the SDKs decode them.
var (
	errCertificateState      = &Exception{"CertificateStateException", http.StatusNotAcceptable}
	errCertificateValidation = &Exception{"CertificateValidationException", http.StatusBadRequest}
	errMalformedPolicy       = &Exception{"MalformedPolicyException", http.StatusBadRequest}
	errVersionsLimit         = &Exception{"VersionsLimitExceededException", http.StatusConflict}
	errRegistrationCode      = &Exception{"RegistrationCodeValidationException", http.StatusBadRequest}
	errVersionConflict       = &Exception{"VersionConflictException", http.StatusConflict}
	errLimitExceeded         = &Exception{"LimitExceededException", http.StatusGone}
)

// writeAccountErr answers with the exception a certauth error maps to.
func writeAccountErr(w http.ResponseWriter, err error) {
	for _, m := range []struct {
		err error
		ex  *Exception
	}{
		{certauth.ErrNotFound, ErrNotFound},
		{certauth.ErrAlreadyExists, ErrAlreadyExists},
		{certauth.ErrInvalid, ErrInvalid},
		{certauth.ErrDeleteConflict, ErrConflict},
		{certauth.ErrCertificateState, errCertificateState},
		{certauth.ErrCertificateValidation, errCertificateValidation},
		{certauth.ErrMalformedPolicy, errMalformedPolicy},
		{certauth.ErrVersionsLimit, errVersionsLimit},
		{certauth.ErrRegistrationCode, errRegistrationCode},
		{certauth.ErrVersionConflict, errVersionConflict},
		{certauth.ErrLimitExceeded, errLimitExceeded},
	} {
		if errors.Is(err, m.err) {
			writeError(w, m.ex, err.Error())
			return
		}
	}
	writeError(w, errInternal, err.Error())
}

// routeX509 adds the certificate, policy and thing operations.
func (h *Handler) routeX509(x X509Backend) {
	c := certificates{x}
	h.mux.HandleFunc("POST /keys-and-certificate", c.createKeysAndCertificate)
	h.mux.HandleFunc("POST /certificate/register", c.register)
	h.mux.HandleFunc("POST /certificate/register-no-ca", c.registerWithoutCA)
	h.mux.HandleFunc("PUT /certificates/{certificateId}", c.update)
	h.mux.HandleFunc("GET /certificates/{certificateId}", c.describe)
	h.mux.HandleFunc("DELETE /certificates/{certificateId}", c.delete)
	h.mux.HandleFunc("GET /certificates", c.list)
	h.mux.HandleFunc("GET /registrationcode", c.registrationCode)
	h.mux.HandleFunc("POST /cacertificate", c.registerCA)
	h.mux.HandleFunc("PUT /cacertificate/{certificateId}", c.updateCA)
	h.mux.HandleFunc("GET /cacertificate/{certificateId}", c.describeCA)
	h.mux.HandleFunc("DELETE /cacertificate/{certificateId}", c.deleteCA)
	h.mux.HandleFunc("GET /cacertificates", c.listCAs)
	p := policies{x}
	h.mux.HandleFunc("POST /policies/{policyName}", p.create)
	h.mux.HandleFunc("GET /policies/{policyName}", p.get)
	h.mux.HandleFunc("DELETE /policies/{policyName}", p.delete)
	h.mux.HandleFunc("GET /policies", p.list)
	h.mux.HandleFunc("POST /policies/{policyName}/version", p.createVersion)
	h.mux.HandleFunc("GET /policies/{policyName}/version", p.listVersions)
	h.mux.HandleFunc("GET /policies/{policyName}/version/{policyVersionId}", p.getVersion)
	h.mux.HandleFunc("PATCH /policies/{policyName}/version/{policyVersionId}", p.setDefaultVersion)
	h.mux.HandleFunc("DELETE /policies/{policyName}/version/{policyVersionId}", p.deleteVersion)
	h.mux.HandleFunc("POST /policy-targets/{policyName}", p.listTargets)
	h.mux.HandleFunc("PUT /target-policies/{policyName}", p.attach)
	h.mux.HandleFunc("POST /target-policies/{policyName}", p.detach)
	h.mux.HandleFunc("POST /attached-policies/{target}", p.listAttached)
	h.mux.HandleFunc("POST /effective-policies", p.effective)
	t := things{x}
	h.mux.HandleFunc("POST /things/{thingName}", t.create)
	h.mux.HandleFunc("GET /things/{thingName}", t.describe)
	h.mux.HandleFunc("PATCH /things/{thingName}", t.update)
	h.mux.HandleFunc("DELETE /things/{thingName}", t.delete)
	h.mux.HandleFunc("GET /things", t.list)
	h.mux.HandleFunc("GET /principals/things", t.listPrincipalThings)
	h.mux.HandleFunc("PUT /things/{thingName}/principals", t.attachPrincipal)
	h.mux.HandleFunc("DELETE /things/{thingName}/principals", t.detachPrincipal)
	h.mux.HandleFunc("GET /things/{thingName}/principals", t.listPrincipals)
}

// certificates serves the certificate and CA certificate operations.
type certificates struct{ X509Backend }

// validity is a certificate's validity. AWS: notBefore and notAfter, epoch seconds.
type validity struct {
	NotBefore epochSeconds `json:"notBefore"`
	NotAfter  epochSeconds `json:"notAfter"`
}

// certificateDescription is DescribeCertificate's CertificateDescription.
type certificateDescription struct {
	CertificateArn   string       `json:"certificateArn"`
	CertificateID    string       `json:"certificateId"`
	CACertificateID  string       `json:"caCertificateId,omitempty"`
	Status           string       `json:"status"`
	CertificatePem   string       `json:"certificatePem"`
	OwnedBy          string       `json:"ownedBy"`
	CreationDate     epochSeconds `json:"creationDate"`
	LastModifiedDate epochSeconds `json:"lastModifiedDate"`
	CustomerVersion  int          `json:"customerVersion"`
	CertificateMode  string       `json:"certificateMode"`
	Validity         validity     `json:"validity"`
}

// certificateSummary is an entry of ListCertificates.
type certificateSummary struct {
	CertificateArn  string       `json:"certificateArn"`
	CertificateID   string       `json:"certificateId"`
	Status          string       `json:"status"`
	CertificateMode string       `json:"certificateMode"`
	CreationDate    epochSeconds `json:"creationDate"`
}

func (c certificates) createKeysAndCertificate(w http.ResponseWriter, r *http.Request) {
	k, err := c.Account().CreateKeysAndCertificate(c.Issuer(), r.URL.Query().Get("setAsActive") == "true")
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"certificateArn": k.ARN,
		"certificateId":  k.ID,
		"certificatePem": k.PEM,
		"keyPair":        map[string]string{"PublicKey": k.PublicKeyPEM, "PrivateKey": k.PrivateKeyPEM},
	})
}

// registerBody is the body of RegisterCertificate and RegisterCertificateWithoutCA.
type registerBody struct {
	CertificatePem   string `json:"certificatePem"`
	CACertificatePem string `json:"caCertificatePem"`
	Status           string `json:"status"`
}

// registerStatus is the status a registration asks for: the body's status, else the
// deprecated setAsActive query parameter.
func registerStatus(r *http.Request, b registerBody) certauth.Status {
	if b.Status != "" {
		return certauth.Status(b.Status)
	}
	if r.URL.Query().Get("setAsActive") == "true" {
		return certauth.StatusActive
	}
	return ""
}

func (c certificates) register(w http.ResponseWriter, r *http.Request) {
	var b registerBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	rc, err := c.Account().RegisterCertificate(b.CertificatePem, b.CACertificatePem, registerStatus(r, b))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"certificateArn": rc.ARN, "certificateId": rc.ID})
}

func (c certificates) registerWithoutCA(w http.ResponseWriter, r *http.Request) {
	var b registerBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	rc, err := c.Account().RegisterCertificateWithoutCA(b.CertificatePem, registerStatus(r, b))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"certificateArn": rc.ARN, "certificateId": rc.ID})
}

func (c certificates) update(w http.ResponseWriter, r *http.Request) {
	if err := c.Account().UpdateCertificate(r.PathValue("certificateId"), certauth.Status(r.URL.Query().Get("newStatus"))); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (c certificates) describe(w http.ResponseWriter, r *http.Request) {
	rc, err := c.Account().Certificate(r.PathValue("certificateId"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificateDescription": certificateDescription{
		CertificateArn: rc.ARN, CertificateID: rc.ID, CACertificateID: rc.CACertificateID, Status: string(rc.Status),
		CertificatePem: rc.PEM, OwnedBy: accountOf(rc.ARN), CreationDate: epochSeconds(rc.CreationDate),
		LastModifiedDate: epochSeconds(rc.LastModifiedDate), CustomerVersion: 1, CertificateMode: rc.Mode,
		Validity: validity{epochSeconds(rc.Cert.NotBefore), epochSeconds(rc.Cert.NotAfter)},
	}})
}

func (c certificates) delete(w http.ResponseWriter, r *http.Request) {
	if err := c.Account().DeleteCertificate(r.PathValue("certificateId"), r.URL.Query().Get("forceDelete") == "true"); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (c certificates) list(w http.ResponseWriter, r *http.Request) {
	out := []certificateSummary{}
	for _, rc := range c.Account().Certificates() {
		out = append(out, certificateSummary{rc.ARN, rc.ID, string(rc.Status), rc.Mode, epochSeconds(rc.CreationDate)})
	}
	if r.URL.Query().Get("isAscendingOrder") != "true" {
		// AWS (inferred): without isAscendingOrder the newest certificates come first.
		slices.Reverse(out)
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
}

func (c certificates) registrationCode(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"registrationCode": c.Account().RegistrationCode()})
}

// caBody is the body of RegisterCACertificate.
type caBody struct {
	CACertificate           string `json:"caCertificate"`
	VerificationCertificate string `json:"verificationCertificate"`
	CertificateMode         string `json:"certificateMode"`
}

func (c certificates) registerCA(w http.ResponseWriter, r *http.Request) {
	var b caBody
	if !readJSON(w, r, &b, ErrInvalid) {
		return
	}
	q := r.URL.Query()
	ca, err := c.Account().RegisterCACertificate(certauth.CARegistration{
		CAPEM: b.CACertificate, VerificationPEM: b.VerificationCertificate, Mode: b.CertificateMode,
		Active: q.Get("setAsActive") == "true", AutoRegistration: q.Get("allowAutoRegistration") == "true",
	})
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"certificateArn": ca.ARN, "certificateId": ca.ID})
}

func (c certificates) updateCA(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var status *certauth.Status
	if v := q.Get("newStatus"); v != "" {
		s := certauth.Status(v)
		status = &s
	}
	var auto *bool
	switch q.Get("newAutoRegistrationStatus") {
	case "ENABLE":
		auto = new(true)
	case "DISABLE":
		auto = new(false)
	case "":
	default:
		writeError(w, ErrInvalid, "newAutoRegistrationStatus is ENABLE or DISABLE")
		return
	}
	if err := c.Account().UpdateCACertificate(r.PathValue("certificateId"), status, auto); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (c certificates) describeCA(w http.ResponseWriter, r *http.Request) {
	ca, err := c.Account().CACertificate(r.PathValue("certificateId"))
	if err != nil {
		writeAccountErr(w, err)
		return
	}
	auto := "DISABLE"
	if ca.AutoRegistration {
		auto = "ENABLE"
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificateDescription": map[string]any{
		"certificateArn": ca.ARN, "certificateId": ca.ID, "status": ca.Status, "certificatePem": ca.PEM,
		"ownedBy": accountOf(ca.ARN), "creationDate": epochSeconds(ca.CreationDate), "lastModifiedDate": epochSeconds(ca.LastModifiedDate),
		"autoRegistrationStatus": auto, "customerVersion": 1, "certificateMode": ca.Mode,
		"validity": validity{epochSeconds(ca.Cert.NotBefore), epochSeconds(ca.Cert.NotAfter)},
	}})
}

func (c certificates) deleteCA(w http.ResponseWriter, r *http.Request) {
	if err := c.Account().DeleteCACertificate(r.PathValue("certificateId")); err != nil {
		writeAccountErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (c certificates) listCAs(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]any{}
	for _, ca := range c.Account().CACertificates() {
		out = append(out, map[string]any{"certificateArn": ca.ARN, "certificateId": ca.ID, "status": ca.Status, "creationDate": epochSeconds(ca.CreationDate)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
}

// accountOf returns the account of an ARN arn:aws:iot:REGION:ACCOUNT:...
func accountOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}
