package emulator_test

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/certauth"
)

// TestControlPlaneX509SDK drives the CA, certificate, policy version and thing operations with
// aws-sdk-go-v2, whose typed answers and errors check the shapes, and connects the device the
// SDK registered.
func TestControlPlaneX509SDK(t *testing.T) {
	t.Parallel()
	emu, client, _ := controlPlane(t)
	ctx := context.Background()

	// The verification certificate flow of RegisterCACertificate.
	code, err := client.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := certauth.NewIssuer()
	verification, err := emulator.SignDevice(ca, pkix.Name{CommonName: *code.RegistrationCode}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rca, err := client.RegisterCACertificate(ctx, &iot.RegisterCACertificateInput{
		CaCertificate: aws.String(certauth.EncodePEM(ca.Cert)), VerificationCertificate: aws.String(string(verification.CertPEM)), SetAsActive: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	dca, err := client.DescribeCACertificate(ctx, &iot.DescribeCACertificateInput{CertificateId: rca.CertificateId})
	if err != nil || dca.CertificateDescription.Status != types.CACertificateStatusActive || dca.CertificateDescription.AutoRegistrationStatus != types.AutoRegistrationStatusDisable {
		t.Fatalf("DescribeCACertificate: %+v, %v", dca, err)
	}

	dev, err := emulator.SignDevice(ca, pkix.Name{CommonName: "sdk-device"}, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := client.RegisterCertificate(ctx, &iot.RegisterCertificateInput{CertificatePem: aws.String(string(dev.CertPEM)), Status: types.CertificateStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.RegisterCertificate(ctx, &iot.RegisterCertificateInput{CertificatePem: aws.String(string(dev.CertPEM))}); !errorIs[*types.ResourceAlreadyExistsException](err) {
		t.Fatalf("registering twice: %v", err)
	}
	desc, err := client.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: reg.CertificateId})
	if err != nil || *desc.CertificateDescription.CaCertificateId != *rca.CertificateId || desc.CertificateDescription.Validity.NotAfter.Before(time.Now()) {
		t.Fatalf("DescribeCertificate: %+v, %v", desc, err)
	}

	// A policy whose first version denies, then a second, default version that allows.
	if _, err := client.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String("sdk"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":"x"}`)}); !errorIs[*types.MalformedPolicyException](err) {
		t.Fatalf("malformed policy: %v", err)
	}
	if _, err := client.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: aws.String("sdk"), Target: reg.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	d := certDevice(emu, dev, "sdk-thing", emulator.Port8883)
	if _, err := d.connectV3Cert(t); err == nil {
		t.Fatal("connected with version 1, which does not allow iot:Connect")
	}
	v2, err := client.CreatePolicyVersion(ctx, &iot.CreatePolicyVersionInput{PolicyName: aws.String("sdk"), PolicyDocument: aws.String(devicePolicy)})
	if err != nil || v2.IsDefaultVersion {
		t.Fatalf("CreatePolicyVersion: %+v, %v", v2, err)
	}
	if _, err := client.SetDefaultPolicyVersion(ctx, &iot.SetDefaultPolicyVersionInput{PolicyName: aws.String("sdk"), PolicyVersionId: v2.PolicyVersionId}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String("sdk")})
	if err != nil || *got.DefaultVersionId != "2" {
		t.Fatalf("GetPolicy: %+v, %v", got, err)
	}
	if _, err := d.connectV3Cert(t); err != nil {
		t.Fatalf("after SetDefaultPolicyVersion: %v\n%s", err, dumpLog(emu))
	}
	if _, err := client.DeletePolicyVersion(ctx, &iot.DeletePolicyVersionInput{PolicyName: aws.String("sdk"), PolicyVersionId: aws.String("2")}); !errorIs[*types.DeleteConflictException](err) {
		t.Fatalf("DeletePolicyVersion of the default: %v", err)
	}
	if _, err := client.DeletePolicyVersion(ctx, &iot.DeletePolicyVersionInput{PolicyName: aws.String("sdk"), PolicyVersionId: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	versions, err := client.ListPolicyVersions(ctx, &iot.ListPolicyVersionsInput{PolicyName: aws.String("sdk")})
	if err != nil || len(versions.PolicyVersions) != 1 || *versions.PolicyVersions[0].VersionId != "2" || !versions.PolicyVersions[0].IsDefaultVersion {
		t.Fatalf("ListPolicyVersions: %+v, %v", versions, err)
	}
	targets, err := client.ListTargetsForPolicy(ctx, &iot.ListTargetsForPolicyInput{PolicyName: aws.String("sdk")})
	if err != nil || len(targets.Targets) != 1 || targets.Targets[0] != *reg.CertificateArn {
		t.Fatalf("ListTargetsForPolicy: %+v, %v", targets, err)
	}
	pols, err := client.ListPolicies(ctx, &iot.ListPoliciesInput{})
	if err != nil || len(pols.Policies) != 1 || *pols.Policies[0].PolicyName != "sdk" {
		t.Fatalf("ListPolicies: %+v, %v", pols, err)
	}

	// Things: create, update, describe, principals.
	if _, err := client.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("sdk-thing"), AttributePayload: &types.AttributePayload{Attributes: map[string]string{"a": "1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateThing(ctx, &iot.UpdateThingInput{ThingName: aws.String("sdk-thing"), AttributePayload: &types.AttributePayload{Attributes: map[string]string{"b": "2"}, Merge: true}}); err != nil {
		t.Fatal(err)
	}
	th, err := client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("sdk-thing")})
	if err != nil || th.Attributes["a"] != "1" || th.Attributes["b"] != "2" || th.Version != 2 || *th.DefaultClientId != "sdk-thing" {
		t.Fatalf("DescribeThing: %+v, %v", th, err)
	}
	if _, err := client.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: aws.String("sdk-thing"), Principal: reg.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	ps, err := client.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: aws.String("sdk-thing")})
	if err != nil || len(ps.Principals) != 1 || ps.Principals[0] != *reg.CertificateArn {
		t.Fatalf("ListThingPrincipals: %+v, %v", ps, err)
	}
	pt, err := client.ListPrincipalThings(ctx, &iot.ListPrincipalThingsInput{Principal: reg.CertificateArn})
	if err != nil || len(pt.Things) != 1 || pt.Things[0] != "sdk-thing" {
		t.Fatalf("ListPrincipalThings: %+v, %v", pt, err)
	}
	things, err := client.ListThings(ctx, &iot.ListThingsInput{})
	if err != nil || len(things.Things) != 1 || things.Things[0].Attributes["b"] != "2" {
		t.Fatalf("ListThings: %+v, %v", things, err)
	}
	if _, err := client.DeleteCACertificate(ctx, &iot.DeleteCACertificateInput{CertificateId: rca.CertificateId}); !errorIs[*types.CertificateStateException](err) {
		t.Fatalf("DeleteCACertificate while ACTIVE: %v", err)
	}
	list, err := client.ListCertificates(ctx, &iot.ListCertificatesInput{})
	if err != nil || len(list.Certificates) != 1 || list.Certificates[0].Status != types.CertificateStatusActive {
		t.Fatalf("ListCertificates: %+v, %v", list, err)
	}
	if _, err := client.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: reg.CertificateId}); !errorIs[*types.CertificateStateException](err) {
		t.Fatalf("DeleteCertificate while ACTIVE: %v", err)
	}
}

func errorIs[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

// TestX509Config: policies, things, a CA and certificates declared in the YAML configuration
// are registered at start; the device connects with its thing name.
func TestX509Config(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, _ := certauth.NewIssuer()
	dev, err := emulator.SignDevice(ca, pkix.Name{CommonName: "yaml-device"}, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "ca.pem"), []byte(certauth.EncodePEM(ca.Cert)))
	mustWrite(t, filepath.Join(dir, "device.pem"), dev.CertPEM)
	yaml := `accountId: "123456789012"
region: us-east-1
policies:
  - policyName: thing-policy
    policyDocument: |
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"}]}
things:
  - thingName: yaml-thing
    attributes: {site: lab}
caCertificates:
  - certificateFile: ca.pem
certificates:
  - certificateFile: device.pem
    policies: [thing-policy]
    things: [yaml-thing]
`
	path := filepath.Join(dir, "iotemu.yaml")
	mustWrite(t, path, []byte(yaml))
	cfg, err := emulator.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	emu := start(t, cfg)
	c, err := emu.Account().Certificate(certauth.CertificateID(dev.TLS.Leaf))
	if err != nil || c.CACertificateID == "" {
		t.Fatalf("configured certificate: %+v, %v", c, err)
	}
	if _, err := certDevice(emu, dev, "yaml-thing", emulator.Port8883).connectV3Cert(t); err != nil {
		t.Fatalf("configured device: %v\n%s", err, dumpLog(emu))
	}

	bad := strings.Replace(yaml, "things: [yaml-thing]", "things: [no-such-thing]", 1)
	mustWrite(t, path, []byte(bad))
	if cfg, err = emulator.LoadConfig(path); err == nil {
		_, err = emulator.Start(cfg, emulator.Options{})
	}
	if err == nil || !strings.Contains(err.Error(), "no-such-thing") {
		t.Fatalf("a certificate attached to an unknown thing: %v", err)
	}
}

// TestX509HTTPSOn443: an HTTPS client with a certificate publishes on port 443 with ALPN
// x-amzn-http-ca, as on 8443.
func TestX509HTTPSOn443(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	dev := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy})
	tlsCfg := emu.DeviceTLSConfig(dev, emulator.ALPNHTTPX509)
	addr := emu.Addr(emulator.Port443).String()
	c := &http.Client{Timeout: waitLong, Transport: &http.Transport{
		TLSClientConfig: tlsCfg,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
	}}
	resp, err := c.Post("https://"+emu.Endpoint()+"/topics/t/h?qos=1", "application/octet-stream", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != emulator.ALPNHTTPX509 {
		t.Fatalf("status %d, body %s, TLS %+v", resp.StatusCode, body, resp.TLS)
	}
	waitEvent(t, emu, "Publish-In", "Success", "topicName=t/h", "principalId="+dev.ID)
}

func mustWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
