package certauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/emulator/policy"
)

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

func newRegistry() *certauth.Registry {
	return certauth.NewRegistry("us-east-1", "123456789012", time.Now)
}

func issue(t *testing.T, iss *certauth.Issuer, subject pkix.Name) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := iss.Issue(key.Public(), subject, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newIssuer(t *testing.T) *certauth.Issuer {
	t.Helper()
	iss, err := certauth.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestPolicyVersions(t *testing.T) {
	r := newRegistry()
	if _, err := r.CreatePolicy("bad name!", allowAll); !errors.Is(err, certauth.ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := r.CreatePolicy("p", `{"Statement":[{"Effect":"Maybe"}]}`); !errors.Is(err, certauth.ErrMalformedPolicy) {
		t.Fatalf("malformed document: %v", err)
	}
	if _, err := r.CreatePolicy("p", allowAll); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreatePolicy("p", allowAll); !errors.Is(err, certauth.ErrAlreadyExists) {
		t.Fatalf("second create: %v", err)
	}
	for i := 2; i <= 5; i++ {
		if _, err := r.CreatePolicyVersion("p", allowAll, i == 3); err != nil {
			t.Fatalf("version %d: %v", i, err)
		}
	}
	// AWS: at most five versions.
	if _, err := r.CreatePolicyVersion("p", allowAll, false); !errors.Is(err, certauth.ErrVersionsLimit) {
		t.Fatalf("sixth version: %v", err)
	}
	p, _ := r.Policy("p")
	if p.DefaultVersionID != "3" || len(p.Versions) != 5 {
		t.Fatalf("policy %+v", p)
	}
	if err := r.SetDefaultPolicyVersion("p", "9"); !errors.Is(err, certauth.ErrNotFound) {
		t.Fatalf("unknown version: %v", err)
	}
	// AWS: a policy with versions other than the default cannot be deleted.
	if err := r.DeletePolicy("p"); !errors.Is(err, certauth.ErrDeleteConflict) {
		t.Fatalf("delete with versions: %v", err)
	}
}

func TestDeleteCertificateRules(t *testing.T) {
	r := newRegistry()
	iss := newIssuer(t)
	c, err := r.AddCertificate(issue(t, iss, pkix.Name{CommonName: "d"}), "", certauth.ModeDefault, certauth.StatusActive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreatePolicy("p", allowAll); err != nil {
		t.Fatal(err)
	}
	if err := r.AttachPolicy("p", c.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateThing("t1", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := r.AttachThingPrincipal("t1", c.ARN); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteCertificate(c.ID, false); !errors.Is(err, certauth.ErrCertificateState) {
		t.Fatalf("delete ACTIVE: %v", err)
	}
	if err := r.UpdateCertificate(c.ID, certauth.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteCertificate(c.ID, true); !errors.Is(err, certauth.ErrDeleteConflict) {
		t.Fatalf("delete attached to a thing: %v", err)
	}
	if err := r.DetachThingPrincipal("t1", c.ARN); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteCertificate(c.ID, false); !errors.Is(err, certauth.ErrDeleteConflict) {
		t.Fatalf("delete with a policy: %v", err)
	}
	if err := r.DeleteCertificate(c.ID, true); err != nil {
		t.Fatalf("forced delete: %v", err)
	}
	if len(r.AttachedPolicies(c.ARN)) != 0 {
		t.Fatal("a forced delete left the policy attached")
	}
	if err := r.DeletePolicy("p"); err != nil {
		t.Fatalf("delete a detached policy: %v", err)
	}
}

func TestAttachedPoliciesLimit(t *testing.T) {
	r := newRegistry()
	c, _ := r.AddCertificate(issue(t, newIssuer(t), pkix.Name{CommonName: "d"}), "", certauth.ModeDefault, certauth.StatusActive)
	for i := range 11 {
		name := fmt.Sprintf("p%d", i)
		if _, err := r.CreatePolicy(name, allowAll); err != nil {
			t.Fatal(err)
		}
		err := r.AttachPolicy(name, c.ARN)
		if i < 10 && err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if i == 10 && !errors.Is(err, certauth.ErrLimitExceeded) {
			t.Fatalf("an eleventh policy: %v", err)
		}
	}
	if err := r.AttachPolicy("p3", c.ARN); err != nil {
		t.Fatalf("attaching an attached policy again: %v", err)
	}
}

func TestRevokedStaysRevoked(t *testing.T) {
	r := newRegistry()
	c, _ := r.AddCertificate(issue(t, newIssuer(t), pkix.Name{CommonName: "d"}), "", certauth.ModeDefault, certauth.StatusRevoked)
	if err := r.UpdateCertificate(c.ID, certauth.StatusActive); !errors.Is(err, certauth.ErrCertificateState) {
		t.Fatalf("reactivate a revoked certificate: %v", err)
	}
}

func TestRegisterCertificateNeedsItsCA(t *testing.T) {
	r := newRegistry()
	ca := newIssuer(t)
	leaf := certauth.EncodePEM(issue(t, ca, pkix.Name{CommonName: "d"}))
	if _, err := r.RegisterCertificate(leaf, "", certauth.StatusActive); !errors.Is(err, certauth.ErrCertificateValidation) {
		t.Fatalf("unknown CA: %v", err)
	}
	if _, err := r.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(ca.Cert), VerificationPEM: leaf}); !errors.Is(err, certauth.ErrRegistrationCode) {
		t.Fatalf("verification certificate without the registration code: %v", err)
	}
	verification := certauth.EncodePEM(issue(t, ca, pkix.Name{CommonName: r.RegistrationCode()}))
	other := certauth.EncodePEM(issue(t, newIssuer(t), pkix.Name{CommonName: r.RegistrationCode()}))
	if _, err := r.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(ca.Cert), VerificationPEM: other}); !errors.Is(err, certauth.ErrCertificateValidation) {
		t.Fatalf("verification certificate signed by another key: %v", err)
	}
	rca, err := r.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(ca.Cert), VerificationPEM: verification})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RegisterCertificate(leaf, "", certauth.StatusActive); !errors.Is(err, certauth.ErrCertificateState) {
		t.Fatalf("CA registered INACTIVE: %v", err)
	}
	active := certauth.StatusActive
	if err := r.UpdateCACertificate(rca.ID, &active, nil); err != nil {
		t.Fatal(err)
	}
	c, err := r.RegisterCertificate(leaf, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != certauth.StatusInactive || c.CACertificateID != rca.ID {
		t.Fatalf("registered %+v; want INACTIVE (the default) under CA %s", c, rca.ID)
	}
}

// TestVariables: the certificate's fields become iot:Certificate.* variables; the thing's
// only when the client ID names a thing attached to the certificate.
func TestVariables(t *testing.T) {
	r := newRegistry()
	iss := newIssuer(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := iss.Issue(key.Public(), pkix.Name{CommonName: "dev-1", Organization: []string{"Acme"}, Country: []string{"FR"}}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := r.AddCertificate(c, "", certauth.ModeDefault, certauth.StatusActive)
	if _, err := r.CreateThing("dev-1", "sensor", map[string]string{"room": "12"}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Authenticate([]*x509.Certificate{c}, "dev-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.PrincipalID != rc.ID || res.Variables["iot:certificate.subject.commonname"] != "dev-1" ||
		res.Variables["iot:certificate.subject.organization"] != "Acme" || res.Variables["iot:certificate.issuer.commonname"] == "" {
		t.Fatalf("variables %v", res.Variables)
	}
	if _, ok := res.Variables["iot:connection.thing.thingname"]; ok || res.Thing != "" {
		t.Fatal("thing variables set for a thing the certificate is not attached to")
	}
	if err := r.AttachThingPrincipal("dev-1", rc.ARN); err != nil {
		t.Fatal(err)
	}
	res, _ = r.Authenticate([]*x509.Certificate{c}, "dev-1", time.Now())
	if res.Variables["iot:connection.thing.thingname"] != "dev-1" || res.Variables["iot:connection.thing.thingtypename"] != "sensor" ||
		res.Variables["iot:connection.thing.attributes[room]"] != "12" || res.Variables["iot:connection.thing.isattached"] != "true" {
		t.Fatalf("thing variables %v", res.Variables)
	}
	// The variables work in a compiled policy: as resources and as condition keys.
	doc, err := policy.Parse("p", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish",
	  "Resource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.Organization}/${iot:Connection.Thing.Attributes[room]}",
	  "Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Compile([]*policy.Document{doc}, policy.Context{Region: "us-east-1", AccountID: "123456789012", ClientID: "dev-1", Variables: res.Variables})
	if d := p.Evaluate(policy.Publish, policy.TopicARN("us-east-1", "123456789012", "Acme/12")); !d.Allowed {
		t.Fatalf("publish to Acme/12: %s", d)
	}
}
