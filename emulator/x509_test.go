package emulator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/emulator/clock"
)

// devicePolicy lets a certificate connect as any client and use topics under t/.
const devicePolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/*"},
 {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"arn:aws:iot:us-east-1:123456789012:topic/t/*"},
 {"Effect":"Allow","Action":"iot:Subscribe","Resource":"arn:aws:iot:us-east-1:123456789012:topicfilter/t/*"}]}`

// x509Config is an emulator config with no authorizer: only X.509 devices connect.
func x509Config() emulator.Config {
	return emulator.Config{AccountID: account, Region: region}
}

func issue(t testing.TB, emu *emulator.Emulator, opts emulator.DeviceOptions) *emulator.DeviceCertificate {
	t.Helper()
	d, err := emu.IssueDevice(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// certDevice is how an X.509 device connects: on 8883 without ALPN, or on 443 with
// x-amzn-mqtt-ca.
func certDevice(emu *emulator.Emulator, d *emulator.DeviceCertificate, clientID string, port emulator.Port) device {
	alpn := ""
	if port == emulator.Port443 {
		alpn = emulator.ALPNMQTTX509
	}
	return device{clientID: clientID, tls: emu.DeviceTLSConfig(d, alpn), addr: emu.Addr(port).String()}
}

func (d device) connectV3Cert(t testing.TB) (*v3, error) {
	t.Helper()
	return connectPahoV3(t, pahov3.NewClientOptions().AddBroker("tls://"+d.addr).SetClientID(d.clientID).SetTLSConfig(d.tls))
}

// TestX509Connect: devices with an ACTIVE certificate and an attached policy connect with
// paho 3.1.1 on 8883 and on 443 (ALPN x-amzn-mqtt-ca) and with paho 5, exchange messages,
// and their events carry the certificate id as principalId.
func TestX509Connect(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	dev := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy, PolicyName: "dev"})
	if len(dev.ID) != 64 {
		t.Fatalf("certificate id %q is not a SHA-256 in hex", dev.ID)
	}
	sub, err := certDevice(emu, dev, "sub-8883", emulator.Port8883).connectV3Cert(t)
	if err != nil {
		t.Fatalf("paho 3.1.1 on 8883: %v\n%s", err, dumpLog(emu))
	}
	waitEvent(t, emu, "Connect", "Success", "clientId=sub-8883", "principalId="+dev.ID)
	if tok := sub.Subscribe("t/x", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub, err := certDevice(emu, dev, "pub-443", emulator.Port443).connectV3Cert(t)
	if err != nil {
		t.Fatalf("paho 3.1.1 on 443 with ALPN x-amzn-mqtt-ca: %v\n%s", err, dumpLog(emu))
	}
	if tok := pub.Publish("t/x", 1, false, "over 443"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	expectMessage(t, sub, "t/x", "over 443")

	v5c, ack, err := certDevice(emu, dev, "pub-v5", emulator.Port8883).connectV5(t)
	if err != nil {
		t.Fatalf("paho 5 on 8883: %v (%+v)", err, ack)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := v5c.Publish(ctx, &paho.Publish{Topic: "t/x", QoS: 1, Payload: []byte("from v5")}); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, sub, "t/x", "from v5")
	// The policy allows t/* only.
	if tok := pub.Publish("other", 1, false, "x"); tok.WaitTimeout(waitLong) && tok.Error() == nil {
		pub.waitLost(t, "a publish the certificate's policy denies did not close the 3.1.1 connection")
	}
	waitEvent(t, emu, "Publish-In", "Failure", "clientId=pub-443", "reason=AUTHORIZATION_FAILURE", "principalId="+dev.ID)
}

// TestX509Refusals: every certificate AWS refuses is refused after CONNECT: an MQTT 3.1.1
// device sees the connection closed, an MQTT 5 device CONNACK 0x87, and the log has a
// Connection.AuthNError (or, for a certificate without policy, a Connect failure) whose
// principalId is the certificate id.
func TestX509Refusals(t *testing.T) {
	t.Parallel()
	virtual := clock.NewVirtual(time.Now())
	emu := emulator.NewTestWithOptions(t, x509Config(), emulator.Options{Clock: virtual})
	acct := emu.Account()

	// A CA registered without auto-registration, and one the account does not know.
	registeredCA, _ := certauth.NewIssuer()
	if _, err := acct.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(registeredCA.Cert), Active: true, Mode: certauth.ModeSNIOnly}); err != nil {
		t.Fatal(err)
	}
	unknownCA, _ := certauth.NewIssuer()

	inactive := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy, PolicyName: "p-inactive", Status: certauth.StatusInactive})
	revoked := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy, PolicyName: "p-revoked", Status: certauth.StatusRevoked})
	pending := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy, PolicyName: "p-pending", Status: certauth.StatusPendingActivation})
	expiring := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy, PolicyName: "p-expired", NotAfter: virtual.Now().Add(time.Hour)})
	noPolicy := issue(t, emu, emulator.DeviceOptions{})

	cases := []struct {
		name, reason string
		dev          *emulator.DeviceCertificate
		event        string
	}{
		{"unknown CA", certauth.ReasonUnknownCA, external(t, unknownCA), "Connection.AuthNError"},
		{"not registered", certauth.ReasonNotRegistered, external(t, registeredCA), "Connection.AuthNError"},
		{"inactive", certauth.ReasonNotActive, inactive, "Connection.AuthNError"},
		{"revoked", certauth.ReasonNotActive, revoked, "Connection.AuthNError"},
		{"pending activation", certauth.ReasonNotActive, pending, "Connection.AuthNError"},
		{"expired", certauth.ReasonExpired, expiring, "Connection.AuthNError"},
		{"no policy", "AUTHORIZATION_FAILURE", noPolicy, "Connect"},
	}
	if err := emu.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := certauth.CertificateID(tc.dev.TLS.Leaf)
			clientID := "refused-" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := certDevice(emu, tc.dev, clientID, emulator.Port8883).connectV3Cert(t)
			if err == nil || isConnackRefusal(err) {
				t.Fatalf("MQTT 3.1.1: %v; want the connection closed without CONNACK", err)
			}
			waitEvent(t, emu, tc.event, "Failure", "clientId="+clientID, "reason="+tc.reason, "principalId="+id)
			_, ack, err := certDevice(emu, tc.dev, clientID+"-v5", emulator.Port443).connectV5(t)
			if err == nil || ack == nil || ack.ReasonCode != 0x87 {
				t.Fatalf("MQTT 5: %v, CONNACK %+v; want CONNACK 0x87", err, ack)
			}
		})
	}
	// The fix of the inactive case: activate it, and it connects.
	if err := acct.UpdateCertificate(inactive.ID, certauth.StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, err := certDevice(emu, inactive, "activated", emulator.Port8883).connectV3Cert(t); err != nil {
		t.Fatalf("after update-certificate ACTIVE: %v", err)
	}
}

// external returns a device certificate signed by ca, as a customer's own CA signs one, with
// its key; it is not registered.
func external(t testing.TB, ca *certauth.Issuer) *emulator.DeviceCertificate {
	t.Helper()
	d, err := emulator.SignDevice(ca, pkix.Name{CommonName: "external"}, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestX509JITR: with auto-registration on, the first connection of a certificate the CA
// signed registers it as PENDING_ACTIVATION, fails, and announces it on
// $aws/events/certificates/registered/<caCertificateId>; once activated with a policy it
// connects.
func TestX509JITR(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	acct := emu.Account()
	ca, _ := certauth.NewIssuer()
	code := acct.RegistrationCode()
	verification := external(t, ca) // replaced below by one whose CN is the registration code
	vd, err := emulator.SignDevice(ca, pkix.Name{CommonName: code}, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acct.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(ca.Cert), VerificationPEM: string(verification.CertPEM), Active: true, AutoRegistration: true}); err == nil {
		t.Fatal("a verification certificate without the registration code was accepted")
	}
	rca, err := acct.RegisterCACertificate(certauth.CARegistration{CAPEM: certauth.EncodePEM(ca.Cert), VerificationPEM: string(vd.CertPEM), Active: true, AutoRegistration: true})
	if err != nil {
		t.Fatal(err)
	}
	// A provisioning service listens for the announcement.
	listener := issue(t, emu, emulator.DeviceOptions{Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`})
	l, err := certDevice(emu, listener, "provisioner", emulator.Port8883).connectV3Cert(t)
	if err != nil {
		t.Fatal(err)
	}
	topic := "$aws/events/certificates/registered/" + rca.ID
	if tok := l.Subscribe(topic, 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	dev := external(t, ca)
	id := certauth.CertificateID(dev.TLS.Leaf)
	if _, err := certDevice(emu, dev, "jitr-device", emulator.Port8883).connectV3Cert(t); err == nil {
		t.Fatal("the first connection of a just-in-time registered certificate succeeded")
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason="+certauth.ReasonPendingJITR, "principalId="+id)
	select {
	case m := <-l.received:
		var ev map[string]any
		if err := json.Unmarshal(m.Payload(), &ev); err != nil || m.Topic() != topic {
			t.Fatalf("announcement %s on %s: %v", m.Payload(), m.Topic(), err)
		}
		if ev["certificateId"] != id || ev["caCertificateId"] != rca.ID || ev["certificateStatus"] != "PENDING_ACTIVATION" || ev["awsAccountId"] != account {
			t.Fatalf("announcement %s", m.Payload())
		}
		for _, k := range []string{"timestamp", "certificateRegistrationTimestamp"} {
			if _, ok := ev[k].(float64); !ok {
				t.Fatalf("announcement %s has no %s", m.Payload(), k)
			}
		}
	case <-time.After(waitLong):
		t.Fatalf("no announcement on %s\n%s", topic, dumpLog(emu))
	}
	c, err := acct.Certificate(id)
	if err != nil || c.Status != certauth.StatusPendingActivation || c.CACertificateID != rca.ID {
		t.Fatalf("registered certificate %+v, %v", c, err)
	}
	// What the provisioning Lambda does: activate, attach a policy.
	if err := acct.UpdateCertificate(id, certauth.StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.CreatePolicy("jitr", devicePolicy); err != nil {
		t.Fatal(err)
	}
	if err := acct.AttachPolicy("jitr", c.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := certDevice(emu, dev, "jitr-device", emulator.Port8883).connectV3Cert(t); err != nil {
		t.Fatalf("after activation: %v\n%s", err, dumpLog(emu))
	}
}

// TestX509PolicyVariables: ${iot:Connection.Thing.ThingName} resolves only when the client ID
// names a thing attached to the certificate; ${iot:Certificate.Subject.CommonName} always; an
// explicit Deny in any attached policy wins.
func TestX509PolicyVariables(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	acct := emu.Account()
	if _, err := acct.CreateThing("sensor-1", "", map[string]string{"floor": "3"}); err != nil {
		t.Fatal(err)
	}
	const thingPolicy = `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
	 {"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/cn/${iot:Certificate.Subject.CommonName}/floor/${iot:Connection.Thing.Attributes[floor]}"}]}`
	dev := issue(t, emu, emulator.DeviceOptions{Policy: thingPolicy, PolicyName: "thing", CommonName: "cn1"})

	// Broken: the thing is not attached, so the variable is unset and nothing matches.
	if _, err := certDevice(emu, dev, "sensor-1", emulator.Port8883).connectV3Cert(t); err == nil {
		t.Fatal("connected with thing variables unset")
	}
	waitEvent(t, emu, "Connect", "Failure", "clientId=sensor-1", "reason=AUTHORIZATION_FAILURE")
	traceMentions(t, emu, "does not name a thing attached to this certificate")

	// Fixed: attach the thing; a client ID that is not the thing name still fails.
	if err := acct.AttachThingPrincipal("sensor-1", dev.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := certDevice(emu, dev, "not-the-thing", emulator.Port8883).connectV3Cert(t); err == nil {
		t.Fatal("a client ID that names no thing connected")
	}
	c, err := certDevice(emu, dev, "sensor-1", emulator.Port8883).connectV3Cert(t)
	if err != nil {
		t.Fatalf("thing attached, client ID = thing name: %v\n%s", err, dumpLog(emu))
	}
	if tok := c.Publish("cn/cn1/floor/3", 1, false, "x"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	waitEvent(t, emu, "Publish-In", "Success", "clientId=sensor-1", "topicName=cn/cn1/floor/3")

	// An explicit Deny in a second attached policy wins over the first's Allow.
	if _, err := acct.CreatePolicy("deny-connect", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iot:Connect","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	if err := acct.AttachPolicy("deny-connect", dev.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := certDevice(emu, dev, "sensor-1", emulator.Port443).connectV3Cert(t); err == nil {
		t.Fatal("connected despite an explicit Deny in an attached policy")
	}
}

// TestMixedAuthentication: a custom-auth device and an X.509 device exchange messages through
// one emulator, each under its own policy.
func TestMixedAuthentication(t *testing.T) {
	t.Parallel()
	emu := start(t, config(allow(openPolicy...)))
	dev := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy})
	custom, err := newDevice(t, emu, "custom-dev").connectV3(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := custom.Subscribe("t/from-cert", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	cert, err := certDevice(emu, dev, "cert-dev", emulator.Port8883).connectV3Cert(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := cert.Subscribe("t/from-custom", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := cert.Publish("t/from-cert", 1, false, "hello custom"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	expectMessage(t, custom, "t/from-cert", "hello custom")
	if tok := custom.Publish("t/from-custom", 1, false, "hello cert"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	expectMessage(t, cert, "t/from-custom", "hello cert")
	waitEvent(t, emu, "Connect", "Success", "clientId=cert-dev", "principalId="+dev.ID)
}

// TestX509NeedsTLSClientCertificate: the X.509 roles still refuse a device without a
// certificate in the handshake, and custom authentication's ALPN does not help on 8883.
func TestX509NeedsTLSClientCertificate(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	for _, cfg := range []*tls.Config{
		{RootCAs: emu.CACertPool(), ServerName: emu.Endpoint(), NextProtos: []string{"mqtt"}},
	} {
		conn, err := tls.Dial("tcp", emu.Addr(emulator.Port8883).String(), cfg)
		if err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(waitLong))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("8883 without a certificate: %v; want a certificate-required alert", err)
		}
	}
	traceMentions(t, emu, "requires an X.509 client certificate")
}

// TestX509LiveChanges: a change of the account applies to open certificate connections: a
// detached policy stops the next publish, and a deactivated certificate closes the
// connection (AUTH_ERROR).
func TestX509LiveChanges(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	acct := emu.Account()
	dev := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy, PolicyName: "live"})
	c, err := certDevice(emu, dev, "live-dev", emulator.Port8883).connectV3Cert(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acct.CreatePolicy("connect-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	if err := acct.AttachPolicy("connect-only", dev.ARN); err != nil {
		t.Fatal(err)
	}
	if err := acct.DetachPolicy("live", dev.ARN); err != nil {
		t.Fatal(err)
	}
	if tok := c.Publish("t/live", 1, false, "x"); tok.WaitTimeout(waitLong) && tok.Error() == nil {
		c.waitLost(t, "a publish no attached policy allows did not close the 3.1.1 connection")
	}
	waitEvent(t, emu, "Publish-In", "Failure", "clientId=live-dev", "reason=AUTHORIZATION_FAILURE")

	v5c, _, err := certDevice(emu, dev, "live-v5", emulator.Port8883).connectV5(t)
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.UpdateCertificate(dev.ID, certauth.StatusInactive); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-v5c.disconnect:
		if d.ReasonCode != 0x87 {
			t.Fatalf("DISCONNECT 0x%02x; want 0x87", d.ReasonCode)
		}
	case <-time.After(waitLong):
		t.Fatal("deactivating the certificate did not close its connection")
	}
	waitEvent(t, emu, "Disconnect", "Success", "clientId=live-v5", "disconnectReason=AUTH_ERROR")
}
