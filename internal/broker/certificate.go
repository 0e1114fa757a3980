package broker

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/emulator/policy"
)

// CertAuthenticator authenticates a device by the X.509 certificate it presented.
type CertAuthenticator interface {
	Authenticate(chain []*x509.Certificate, clientID string, now time.Time) (*certauth.Result, error)
}

// authorizeCert is authorize for a connection that presented a client certificate: the
// certificate's principal and the policies attached to it, compiled with the certificate's
// (and its thing's) policy variables. The result carries no refresh and no disconnect time.
func (b *Broker) authorizeCert(s *Session, traceID string) (*customauth.Result, *policy.Policy, bool) {
	res, pol, f := b.checkCert(s, traceID)
	if f != nil {
		// AWS (inferred): a certificate the account refuses (unknown, inactive, expired) passes
		// the TLS handshake and the connection is refused at CONNECT, as devices report
		// (aws-iot-device-sdk-embedded-C issue 1920); the outcome table says what they see.
		b.event(s, iotlog.Event{
			TraceID:            traceID,
			EventType:          iotlog.EventAuthNError,
			Status:             iotlog.StatusFailure,
			Reason:             f.Reason,
			Details:            certauth.DetailsNotAuthorized,
			AuthenticationType: certauth.AuthenticationType,
			ServerName:         s.Info.ServerName,
		})
		return nil, nil, false
	}
	return &customauth.Result{PrincipalID: res.PrincipalID, PolicyDocuments: res.Texts}, pol, true
}

// checkCert authenticates the session's certificate, traces the verdict and, on success,
// compiles its policies; on failure it returns why (and announces a just-in-time
// registration).
func (b *Broker) checkCert(s *Session, traceID string) (*certauth.Result, *policy.Policy, *certauth.Failure) {
	var err error = &certauth.Failure{Reason: certauth.ReasonNotRegistered, Message: "this emulator has no certificate registry"}
	var res *certauth.Result
	now := b.cfg.Clock.Now()
	if b.cfg.Certs != nil {
		res, err = b.cfg.Certs.Authenticate(s.Info.Certificates, s.ClientID, now)
	}
	if err != nil {
		var f *certauth.Failure
		if !errors.As(err, &f) {
			f = &certauth.Failure{Reason: iotlog.ReasonInternalServerError, Message: err.Error()}
		}
		if s.PrincipalID == "" { // set at CONNECT; a recheck of an open connection leaves it
			s.PrincipalID = f.PrincipalID // AWS: the principal of a certificate is its id
		}
		b.trace(s, traceID, "certificate", f.Message, map[string]any{"certificateId": f.PrincipalID, "subject": s.Info.Certificates[0].Subject.String(), "issuer": s.Info.Certificates[0].Issuer.String()})
		if f.Registered != nil {
			b.publishEvent(certauth.RegisteredTopic(f.Registered.CACertificateID), certauth.NewRegisteredEvent(*f.Registered, b.cfg.AccountID, now))
		}
		return nil, nil, f
	}
	thing := "none: thing variables are unset (the client ID names no thing attached to this certificate)"
	if res.Thing != "" {
		thing = res.Thing
	}
	policies := "none: every action is denied"
	if len(res.PolicyNames) > 0 {
		policies = strings.Join(res.PolicyNames, ", ")
	}
	b.trace(s, traceID, "certificate", fmt.Sprintf("certificate %s is registered and ACTIVE; policies attached: %s; thing: %s", res.PrincipalID, policies, thing), nil)
	ctx := b.policyContext(s)
	ctx.Variables = res.Variables
	return res, policy.Compile(res.Documents, ctx), nil
}

// RecheckCertificates applies a change of the account's registry to every open connection
// made with a client certificate: a certificate that may no longer connect (deactivated,
// revoked, deleted) closes its connections (AUTH_ERROR), and the others get the policies now
// attached, at once.
// AWS (inferred): devices report their connection interrupted when their certificate is
// deactivated (aws-iot-device-sdk-cpp-v2 issue 247); policy changes apply to open
// connections without a reconnect.
func (b *Broker) RecheckCertificates() {
	b.recheckMu.Lock()
	defer b.recheckMu.Unlock()
	for _, cl := range b.server.Clients.GetAll() {
		s := sessionOf(cl)
		if s == nil || len(s.Info.Certificates) == 0 {
			continue
		}
		traceID := uuid.NewString()
		_, pol, f := b.checkCert(s, traceID)
		if f != nil {
			b.trace(s, traceID, "certificate", "the account changed and this certificate may no longer connect: the connection is closed (AUTH_ERROR)", nil)
			b.closeSession(s, outcome(RefreshFailed, s.Protocol), iotlog.DisconnectAuthError)
			continue
		}
		s.SetPolicy(pol)
	}
}
