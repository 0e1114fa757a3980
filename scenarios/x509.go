package scenarios

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/certauth"
)

// The X.509 side of a scenario: named policies, things, CA certificates and device
// certificates that the runner makes and registers, and clients that present a certificate.

// The kinds of X.509 names.
const (
	refPolicy        = "policy"
	refThing         = "thing"
	refCACertificate = "caCertificate"
	refCertificate   = "certificate"
)

// thingDef is a thing of setup.things.
type thingDef struct {
	TypeName   string            `yaml:"thingTypeName"`
	Attributes map[string]string `yaml:"attributes"`
}

// caDef is a CA certificate the runner creates: a customer's own CA.
type caDef struct {
	Status           string `yaml:"status"`
	AutoRegistration bool   `yaml:"autoRegistration"`
	Registered       *bool  `yaml:"registered"` // default true
}

// certificateDef is a device certificate the runner issues.
type certificateDef struct {
	CA         *ref     `yaml:"ca"` // absent: issued by the emulator, as CreateKeysAndCertificate
	Status     string   `yaml:"status"`
	Registered *bool    `yaml:"registered"` // default true
	Policies   []ref    `yaml:"policies"`
	Things     []ref    `yaml:"things"`
	ValidFor   duration `yaml:"validFor"` // default one year
	CommonName string   `yaml:"commonName"`
}

// setCertificateStep changes a certificate's status and attaches policies and things to it,
// as a provisioning function or an operator does.
type setCertificateStep struct {
	Certificate ref    `yaml:"certificate"`
	Status      string `yaml:"status"`
	Policies    []ref  `yaml:"policies"`
	Things      []ref  `yaml:"things"`
}

// x509Refs returns the X.509 names the setup refers to.
func (s *setup) x509Refs() []reference {
	var refs []reference
	for _, name := range slices.Sorted(maps.Keys(s.Certificates)) {
		c := s.Certificates[name]
		if c.CA != nil {
			refs = append(refs, reference{refCACertificate, *c.CA})
		}
		refs = append(refs, attachRefs(c.Policies, c.Things)...)
	}
	return refs
}

func attachRefs(policies, things []ref) []reference {
	var refs []reference
	for _, p := range policies {
		refs = append(refs, reference{refPolicy, p})
	}
	for _, t := range things {
		refs = append(refs, reference{refThing, t})
	}
	return refs
}

// x509Names lists the defined names of an X.509 kind; ok is false for another kind.
func (s *setup) x509Names(kind string) (names []string, ok bool) {
	switch kind {
	case refPolicy:
		return slices.Sorted(maps.Keys(s.Policies)), true
	case refThing:
		return slices.Sorted(maps.Keys(s.Things)), true
	case refCACertificate:
		return slices.Sorted(maps.Keys(s.CACertificates)), true
	case refCertificate:
		return slices.Sorted(maps.Keys(s.Certificates)), true
	}
	return nil, false
}

// withX509 applies a variant's X.509 setup: its entries replace s's of the same name.
func (s setup) withX509(v setup) setup {
	s.Policies = merged(s.Policies, v.Policies)
	s.Things = merged(s.Things, v.Things)
	s.CACertificates = merged(s.CACertificates, v.CACertificates)
	s.Certificates = merged(s.Certificates, v.Certificates)
	return s
}

// setupX509 writes the scenario's policies, things, CA certificates and certificates into the
// running emulator's account, and keeps each certificate's key for its clients.
func (x *execution) setupX509() error {
	s := x.sc.setup
	acct := x.emu.Account()
	for _, name := range slices.Sorted(maps.Keys(s.Policies)) {
		n := s.Policies[name]
		doc, err := policyJSON(&n)
		if err == nil {
			_, err = acct.CreatePolicy(name, doc)
		}
		if err != nil {
			return fmt.Errorf("policy %s: %w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Things)) {
		t := s.Things[name]
		if _, err := acct.CreateThing(name, t.TypeName, t.Attributes); err != nil {
			return fmt.Errorf("thing %s: %w", name, err)
		}
	}
	cas := map[string]*certauth.Issuer{}
	for _, name := range slices.Sorted(maps.Keys(s.CACertificates)) {
		def := s.CACertificates[name]
		ca, err := certauth.NewIssuer()
		if err != nil {
			return err
		}
		cas[name] = ca
		if def.Registered != nil && !*def.Registered {
			continue
		}
		_, err = acct.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(ca.Cert), Active: def.Status != string(certauth.StatusInactive), AutoRegistration: def.AutoRegistration, Mode: certauth.ModeSNIOnly})
		if err != nil {
			return fmt.Errorf("CA certificate %s: %w", name, err)
		}
	}
	x.certs = map[string]*emulator.DeviceCertificate{}
	for _, name := range slices.Sorted(maps.Keys(s.Certificates)) {
		d, err := x.issueCertificate(name, s.Certificates[name], cas)
		if err != nil {
			return fmt.Errorf("certificate %s: %w", name, err)
		}
		x.certs[name] = d
	}
	return nil
}

func (x *execution) issueCertificate(name string, def *certificateDef, cas map[string]*certauth.Issuer) (*emulator.DeviceCertificate, error) {
	now := x.emu.Clock().Now()
	cn := def.CommonName
	if cn == "" {
		cn = name
	}
	opts := emulator.DeviceOptions{Status: certauth.Status(def.Status), CommonName: cn, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(def.ValidFor.or(365 * 24 * time.Hour))}
	for _, p := range def.Policies {
		opts.Policies = append(opts.Policies, p.name)
	}
	for _, t := range def.Things {
		opts.Things = append(opts.Things, t.name)
	}
	registered := def.Registered == nil || *def.Registered
	if def.CA == nil && registered {
		return x.emu.IssueDevice(opts)
	}
	issuer := x.emu.Issuer()
	if def.CA != nil {
		issuer = cas[def.CA.name]
	}
	d, err := emulator.SignDevice(issuer, pkix.Name{CommonName: cn}, opts.NotBefore, opts.NotAfter)
	if err != nil || !registered {
		return d, err
	}
	reg, err := x.emu.RegisterDevice(string(d.CertPEM), opts)
	if err != nil {
		return nil, err
	}
	d.Certificate = reg.Certificate
	return d, nil
}

// policyJSON turns a policy document written in YAML into its JSON text.
func policyJSON(n *yaml.Node) (string, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// certificateTLS sets what a client with a certificate presents: the certificate, and the
// ALPN of X.509 on port 443 unless the file chose one.
func (x *execution) certificateTLS(c *client, cfg *tls.Config) {
	if c.Certificate == nil {
		return
	}
	cfg.Certificates = []tls.Certificate{x.certs[c.Certificate.name].TLS}
	if c.ALPN != nil {
		return
	}
	switch {
	case c.Port == 8883 || c.Port == 8443:
		cfg.NextProtos = nil // AWS: ALPN is not needed on 8883 and 8443
	case c.Transport == "https":
		cfg.NextProtos = []string{emulator.ALPNHTTPX509}
	default:
		cfg.NextProtos = []string{emulator.ALPNMQTTX509}
	}
}

func (s *setCertificateStep) describe() string { return "setCertificate " + s.Certificate.name }

func (s *setCertificateStep) refs() []reference {
	return append([]reference{{refCertificate, s.Certificate}}, attachRefs(s.Policies, s.Things)...)
}

func (s *setCertificateStep) run(x *execution) outcome {
	d := x.certs[s.Certificate.name]
	id := certauth.CertificateID(d.TLS.Leaf)
	var want []string
	acct := x.emu.Account()
	if s.Status != "" {
		want = append(want, "status "+s.Status)
		if err := acct.UpdateCertificate(id, certauth.Status(s.Status)); err != nil {
			return outcome{want: strings.Join(want, ", "), saw: err.Error()}
		}
	}
	for _, p := range s.Policies {
		want = append(want, "policy "+p.name+" attached")
		if err := acct.AttachPolicy(p.name, acct.CertificateARN(id)); err != nil {
			return outcome{want: strings.Join(want, ", "), saw: err.Error()}
		}
	}
	for _, t := range s.Things {
		want = append(want, "attached to thing "+t.name)
		if err := acct.AttachThingPrincipal(t.name, acct.CertificateARN(id)); err != nil {
			return outcome{want: strings.Join(want, ", "), saw: err.Error()}
		}
	}
	return outcome{want: strings.Join(want, ", "), saw: "done", ok: true}
}
