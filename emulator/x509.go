package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/internal/gateway"
)

// Policy is a named AWS IoT policy of the configuration: its document is the first version
// and the default one.
type Policy struct {
	Name     string `yaml:"policyName"`
	Document string `yaml:"policyDocument"`
}

// CACertificate is a CA certificate of the configuration, registered as
// RegisterCACertificate registers one (SNI_ONLY mode: no verification certificate).
type CACertificate struct {
	// File is the CA certificate's PEM file.
	File string `yaml:"certificateFile"`
	// Status is ACTIVE (the default) or INACTIVE.
	Status string `yaml:"status"`
	// AutoRegistration enables just-in-time registration of the certificates it signs.
	AutoRegistration bool `yaml:"autoRegistration"`
}

// Certificate is a device certificate of the configuration. It is registered with its CA
// when one of CACertificates signed it, and without a CA otherwise.
type Certificate struct {
	// File is the certificate's PEM file.
	File string `yaml:"certificateFile"`
	// Status is ACTIVE (the default), INACTIVE, REVOKED or PENDING_ACTIVATION.
	Status string `yaml:"status"`
	// Policies are attached to the certificate, by name.
	Policies []string `yaml:"policies"`
	// Things the certificate is attached to, by name.
	Things []string `yaml:"things"`
}

// Thing is a thing of the configuration.
type Thing struct {
	Name       string            `yaml:"thingName"`
	TypeName   string            `yaml:"thingTypeName"`
	Attributes map[string]string `yaml:"attributes"`
}

// setupCertificates creates the account's certificate registry and writes the configured
// policies, things, CA certificates and certificates into it, in that order.
func (e *Emulator) setupCertificates() error {
	var err error
	if e.issuer, err = certauth.NewIssuer(); err != nil {
		return err
	}
	e.certs = certauth.NewRegistry(e.cfg.Region, e.cfg.AccountID, e.clock.Now)
	for _, p := range e.cfg.Policies {
		if _, err := e.certs.CreatePolicy(p.Name, p.Document); err != nil {
			return fmt.Errorf("policy %s: %w", p.Name, err)
		}
	}
	for _, t := range e.cfg.Things {
		if _, err := e.certs.CreateThing(t.Name, t.TypeName, t.Attributes); err != nil {
			return fmt.Errorf("thing %s: %w", t.Name, err)
		}
	}
	for _, ca := range e.cfg.CACertificates {
		text, err := os.ReadFile(e.path(ca.File))
		if err != nil {
			return fmt.Errorf("CA certificate: %w", err)
		}
		c, err := e.certs.RegisterCACertificate(certauth.CARegistration{CAPEM: string(text), Active: ca.Status != string(certauth.StatusInactive), AutoRegistration: ca.AutoRegistration, Mode: certauth.ModeSNIOnly})
		if err != nil {
			return fmt.Errorf("CA certificate %s: %w", ca.File, err)
		}
		if ca.Status != "" && ca.Status != string(c.Status) {
			return fmt.Errorf("CA certificate %s: status %q: a CA certificate is ACTIVE or INACTIVE", ca.File, ca.Status)
		}
	}
	for _, c := range e.cfg.Certificates {
		text, err := os.ReadFile(e.path(c.File))
		if err != nil {
			return fmt.Errorf("certificate: %w", err)
		}
		if _, err := e.RegisterDevice(string(text), DeviceOptions{Status: certauth.Status(c.Status), Policies: c.Policies, Things: c.Things}); err != nil {
			return fmt.Errorf("certificate %s: %w", c.File, err)
		}
	}
	return nil
}

// Account returns the account's registry of certificates, CA certificates, named policies
// and things: the store that the configuration and the control plane write through. Changes
// apply to the next connection.
func (e *Emulator) Account() *certauth.Registry { return e.certs }

// DeviceOptions says how a device certificate is registered and what is attached to it.
type DeviceOptions struct {
	// Status is the certificate's status (default ACTIVE).
	Status certauth.Status
	// Policy, when set, is a policy document created as a named policy (PolicyName, default
	// "<thing or common name>-policy") and attached to the certificate.
	Policy     string
	PolicyName string
	// Policies are existing named policies to attach.
	Policies []string
	// Things are existing things the certificate is attached to.
	Things []string
	// CommonName is the subject's common name of an issued certificate (default "iotemu
	// device"); NotBefore and NotAfter its validity (default: from an hour ago for a year).
	CommonName          string
	NotBefore, NotAfter time.Time
}

// DeviceCertificate is a device certificate registered in the account, with its key when the emulator
// issued it.
type DeviceCertificate struct {
	certauth.Certificate
	// TLS holds the certificate and its private key for a tls.Config.
	TLS tls.Certificate
	// CertPEM and KeyPEM are the files a device tool wants (mosquitto's --cert/--key, curl's
	// --cert/--key).
	CertPEM, KeyPEM []byte
}

// IssueDevice issues a device certificate signed by the emulator, registers it and attaches
// what opts names, in one call: the usual start of an X.509 test (see the example).
func (e *Emulator) IssueDevice(opts DeviceOptions) (*DeviceCertificate, error) {
	if opts.CommonName == "" {
		opts.CommonName = "iotemu device"
	}
	now := e.clock.Now()
	if opts.NotBefore.IsZero() {
		opts.NotBefore = now.Add(-time.Hour)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = now.AddDate(1, 0, 0)
	}
	d, err := SignDevice(e.issuer, pkix.Name{CommonName: opts.CommonName}, opts.NotBefore, opts.NotAfter)
	if err != nil {
		return nil, err
	}
	if opts.Status == "" {
		opts.Status = certauth.StatusActive
	}
	if d.Certificate, err = e.certs.AddCertificate(d.TLS.Leaf, "", certauth.ModeDefault, opts.Status); err != nil {
		return nil, err
	}
	if err := e.attach(d.Certificate, opts); err != nil {
		return nil, err
	}
	return d, nil
}

// SignDevice makes an ECDSA P-256 key and a client certificate for it that ca signs, as a
// customer's own CA would: the DeviceCertificate is not registered anywhere (its Certificate is empty).
func SignDevice(ca *certauth.Issuer, subject pkix.Name, notBefore, notAfter time.Time) (*DeviceCertificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate device key: %w", err)
	}
	c, err := ca.Issue(key.Public(), subject, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode device key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	certPEM := []byte(certauth.EncodePEM(c))
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("device key pair: %w", err)
	}
	return &DeviceCertificate{TLS: pair, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// RegisterDevice registers a device certificate made elsewhere (PEM text): with its CA when
// a registered CA certificate signed it, without a CA otherwise; then attaches what opts
// names. The DeviceCertificate has no key.
func (e *Emulator) RegisterDevice(certPEM string, opts DeviceOptions) (*DeviceCertificate, error) {
	if opts.Status == "" {
		opts.Status = certauth.StatusActive
	}
	rc, err := e.certs.RegisterCertificate(certPEM, "", opts.Status)
	if errors.Is(err, certauth.ErrCertificateValidation) {
		rc, err = e.certs.RegisterCertificateWithoutCA(certPEM, opts.Status)
	}
	if err != nil {
		return nil, err
	}
	if err := e.attach(rc, opts); err != nil {
		return nil, err
	}
	return &DeviceCertificate{Certificate: rc, CertPEM: []byte(rc.PEM)}, nil
}

// attach creates opts.Policy and attaches it, opts.Policies and opts.Things to c.
func (e *Emulator) attach(c certauth.Certificate, opts DeviceOptions) error {
	policies := opts.Policies
	if opts.Policy != "" {
		name := opts.PolicyName
		if name == "" {
			name = "device-" + c.ID[:12] + "-policy"
		}
		if _, err := e.certs.CreatePolicy(name, opts.Policy); err != nil {
			return err
		}
		policies = append(policies, name)
	}
	for _, p := range policies {
		if err := e.certs.AttachPolicy(p, c.ARN); err != nil {
			return err
		}
	}
	for _, t := range opts.Things {
		if err := e.certs.AttachThingPrincipal(t, c.ARN); err != nil {
			return err
		}
	}
	return nil
}

// DeviceTLSConfig returns a TLS configuration for an X.509 device: it trusts the emulator's
// CA, sends the data endpoint as SNI and presents the device's certificate. alpn is "" for
// port 8883 or 8443, gateway's x-amzn-mqtt-ca (ALPNMQTTX509) or x-amzn-http-ca
// (ALPNHTTPX509) for port 443.
func (e *Emulator) DeviceTLSConfig(d *DeviceCertificate, alpn string) *tls.Config {
	cfg := &tls.Config{
		RootCAs:      e.ca.Pool(),
		ServerName:   e.Endpoint(),
		Certificates: []tls.Certificate{d.TLS},
		MinVersion:   tls.VersionTLS12,
	}
	if alpn != "" {
		cfg.NextProtos = []string{alpn}
	}
	return cfg
}

// CertificateMQTTOptions returns paho options for an X.509 device of this emulator on port
// 8883: the broker address, the device's TLS configuration (DeviceTLSConfig) and the client
// ID. Add handlers and timeouts as the device needs.
func (e *Emulator) CertificateMQTTOptions(clientID string, d *DeviceCertificate) *mqtt.ClientOptions {
	return mqtt.NewClientOptions().
		AddBroker("tls://" + e.Addr(Port8883).String()).
		SetTLSConfig(e.DeviceTLSConfig(d, "")).
		SetClientID(clientID).
		SetAutoReconnect(false).
		SetConnectRetry(false)
}

// The ALPN protocol ids of X.509 authentication on port 443.
const (
	ALPNMQTTX509 = gateway.ALPNMQTTX509
	ALPNHTTPX509 = gateway.ALPNHTTPX509
)

// Issuer returns the emulator's device certificate issuer: the signer of IssueDevice and
// CreateKeysAndCertificate, whose CA is not registered in the account.
func (e *Emulator) Issuer() *certauth.Issuer { return e.issuer }
