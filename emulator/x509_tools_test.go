package emulator_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/certauth"
	"github.com/iotemu/iotemu/internal/testtool"
)

// certFiles writes a device's certificate and key where mosquitto and curl read them.
func certFiles(t testing.TB, certPEM, keyPEM []byte) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "device.pem.crt"), filepath.Join(dir, "private.pem.key")
	if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// mosquittoArgs are the options of an X.509 mosquitto client reaching the endpoint by name
// (SNI) through the emulator's SOCKS proxy on a logical port.
func mosquittoArgs(t testing.TB, emu *emulator.Emulator, port, cert, key string) []string {
	ca := filepath.Join(t.TempDir(), "AmazonRootCA1.pem")
	if err := emu.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	args := []string{"--proxy", "socks5h://" + emu.ProxyAddr().String(), "-h", emu.Endpoint(), "-p", port, "--cafile", ca, "--cert", cert, "--key", key}
	if port == "443" {
		args = append(args, "--tls-alpn", emulator.ALPNMQTTX509) // AWS: X.509 on 443 needs this ALPN
	}
	return args
}

// mosquittoPub publishes one message and returns mosquitto_pub's error and output.
func mosquittoPub(t testing.TB, args ...string) ([]byte, error) {
	return exec.Command(testtool.Require(t, "mosquitto_pub"), args...).CombinedOutput()
}

// TestX509Mosquitto: mosquitto_sub with --cert/--key on 8883 receives what mosquitto_pub
// publishes on 443 with --tls-alpn x-amzn-mqtt-ca; an INACTIVE certificate is refused and
// logged.
func TestX509Mosquitto(t *testing.T) {
	t.Parallel()
	subBin := testtool.Require(t, "mosquitto_sub")
	cfg := x509Config()
	cfg.Listen.Proxy = "127.0.0.1:0"
	emu := start(t, cfg)
	dev := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy})
	cert, key := certFiles(t, dev.CertPEM, dev.KeyPEM)

	sub := exec.Command(subBin, append(mosquittoArgs(t, emu, "8883", cert, key), "-i", "mosq-sub", "-t", "t/mosq", "-C", "1", "-W", "20", "-v")...)
	var subOut bytes.Buffer
	sub.Stdout, sub.Stderr = &subOut, &subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, emu, "Subscribe", "Success", "clientId=mosq-sub", "principalId="+dev.ID)
	if out, err := mosquittoPub(t, append(mosquittoArgs(t, emu, "443", cert, key), "-i", "mosq-pub", "-t", "t/mosq", "-m", "hello over x-amzn-mqtt-ca")...); err != nil {
		t.Fatalf("mosquitto_pub on 443: %v\n%s\n%s", err, out, dumpLog(emu))
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("mosquitto_sub on 8883: %v\n%s", err, subOut.String())
	}
	if got := strings.TrimSpace(subOut.String()); got != "t/mosq hello over x-amzn-mqtt-ca" {
		t.Fatalf("mosquitto_sub printed %q", got)
	}

	if err := emu.Account().UpdateCertificate(dev.ID, certauth.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if out, err := mosquittoPub(t, append(mosquittoArgs(t, emu, "8883", cert, key), "-i", "mosq-inactive", "-t", "t/mosq", "-m", "x")...); err == nil {
		t.Fatalf("mosquitto_pub with an INACTIVE certificate succeeded:\n%s", out)
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=mosq-inactive", "reason="+certauth.ReasonNotActive, "principalId="+dev.ID)
}

// TestX509CurlPublish: curl --cert publishes on 8443 and a paho subscriber receives it; a
// certificate without a policy, and an INACTIVE one, get 403 Forbidden and their log events.
func TestX509CurlPublish(t *testing.T) {
	t.Parallel()
	emu := start(t, x509Config())
	dev := issue(t, emu, emulator.DeviceOptions{Policy: devicePolicy})
	sub, err := certDevice(emu, dev, "curl-sub", emulator.Port8883).connectV3Cert(t)
	if err != nil {
		t.Fatal(err)
	}
	if tok := sub.Subscribe("t/curl", 1, nil); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	cert, key := certFiles(t, dev.CertPEM, dev.KeyPEM)
	to8443 := []string{"--connect-to", emu.Endpoint() + ":8443:" + emu.Addr(emulator.Port8443).String(), "--cert", cert, "--key", key}
	url := "https://" + emu.Endpoint() + ":8443/topics/t/curl?qos=1"
	status, body := curl(t, emu, append(to8443, "-X", "POST", "-d", "from curl", url)...)
	expectBody(t, status, body, 200, "OK")
	expectMessage(t, sub, "t/curl", "from curl")
	waitEvent(t, emu, "Publish-In", "Success", "topicName=t/curl", "principalId="+dev.ID)

	bare := issue(t, emu, emulator.DeviceOptions{})
	cert, key = certFiles(t, bare.CertPEM, bare.KeyPEM)
	status, body = curl(t, emu, "--connect-to", emu.Endpoint()+":8443:"+emu.Addr(emulator.Port8443).String(), "--cert", cert, "--key", key, "-X", "POST", "-d", "x", url)
	expectBody(t, status, body, 403, "Forbidden")
	waitEvent(t, emu, "Publish-In", "Failure", "topicName=t/curl", "reason=AUTHORIZATION_FAILURE", "principalId="+bare.ID)

	// An INACTIVE certificate is refused before the broker looks at the request.
	if err := emu.Account().UpdateCertificate(dev.ID, certauth.StatusInactive); err != nil {
		t.Fatal(err)
	}
	cert, key = certFiles(t, dev.CertPEM, dev.KeyPEM)
	status, body = curl(t, emu, "--connect-to", emu.Endpoint()+":8443:"+emu.Addr(emulator.Port8443).String(), "--cert", cert, "--key", key, "-X", "POST", "-d", "x", url)
	expectBody(t, status, body, 403, "Forbidden")
	ev := waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason="+certauth.ReasonNotActive, "principalId="+dev.ID)
	if ev.Protocol != "HTTP" || ev.AuthenticationType != certauth.AuthenticationType {
		t.Fatalf("AuthNError %+v; want protocol HTTP, authenticationType %s", ev, certauth.AuthenticationType)
	}
}

// awsCLI runs the aws CLI against the emulator's control plane and decodes its JSON output.
func awsCLI(t testing.TB, emu *emulator.Emulator, out any, args ...string) error {
	t.Helper()
	cmd := exec.Command(testtool.Require(t, "aws"), append([]string{"--endpoint-url", "http://" + emu.APIAddr().String(), "--region", region, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return &cliError{err: err, stderr: stderr.String()}
	}
	if out != nil && stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("aws %v printed %s: %v", args, stdout.String(), err)
		}
	}
	return nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

func mustAWS(t testing.TB, emu *emulator.Emulator, out any, args ...string) {
	t.Helper()
	if err := awsCLI(t, emu, out, args...); err != nil {
		t.Fatalf("aws %v: %v", args, err)
	}
}

// TestX509AWSCLI: the aws CLI creates a certificate, a policy and a thing and attaches them;
// the device it made connects with mosquitto; update-certificate --new-status INACTIVE
// refuses its next connect; delete-certificate is refused while the certificate is ACTIVE.
func TestX509AWSCLI(t *testing.T) {
	t.Parallel()
	cfg := x509Config()
	cfg.Listen.API = "127.0.0.1:0"
	cfg.Listen.Proxy = "127.0.0.1:0"
	emu := start(t, cfg)

	var keys struct {
		CertificateArn string `json:"certificateArn"`
		CertificateID  string `json:"certificateId"`
		CertificatePem string `json:"certificatePem"`
		KeyPair        struct{ PrivateKey string }
	}
	mustAWS(t, emu, &keys, "iot", "create-keys-and-certificate", "--set-as-active")
	if keys.CertificateID == "" || !strings.Contains(keys.KeyPair.PrivateKey, "PRIVATE KEY") {
		t.Fatalf("create-keys-and-certificate answered %+v", keys)
	}
	policyDoc := strings.ReplaceAll(devicePolicy, "client/*", "client/${iot:Connection.Thing.ThingName}")
	mustAWS(t, emu, nil, "iot", "create-policy", "--policy-name", "cli-policy", "--policy-document", policyDoc)
	mustAWS(t, emu, nil, "iot", "create-thing", "--thing-name", "cli-thing", "--attribute-payload", `{"attributes":{"site":"lab"}}`)
	mustAWS(t, emu, nil, "iot", "attach-policy", "--policy-name", "cli-policy", "--target", keys.CertificateArn)
	mustAWS(t, emu, nil, "iot", "attach-thing-principal", "--thing-name", "cli-thing", "--principal", keys.CertificateArn)

	var principals struct{ Principals []string }
	mustAWS(t, emu, &principals, "iot", "list-thing-principals", "--thing-name", "cli-thing")
	var attached struct{ Policies []struct{ PolicyName string } }
	mustAWS(t, emu, &attached, "iot", "list-attached-policies", "--target", keys.CertificateArn)
	var effective struct{ EffectivePolicies []struct{ PolicyName string } }
	mustAWS(t, emu, &effective, "iot", "get-effective-policies", "--principal", keys.CertificateArn)
	if len(principals.Principals) != 1 || principals.Principals[0] != keys.CertificateArn ||
		len(attached.Policies) != 1 || len(effective.EffectivePolicies) != 1 || effective.EffectivePolicies[0].PolicyName != "cli-policy" {
		t.Fatalf("principals %+v, attached %+v, effective %+v", principals, attached, effective)
	}
	var desc struct {
		CertificateDescription struct{ Status, CertificateID string }
	}
	mustAWS(t, emu, &desc, "iot", "describe-certificate", "--certificate-id", keys.CertificateID)
	if desc.CertificateDescription.Status != "ACTIVE" {
		t.Fatalf("describe-certificate: %+v", desc)
	}

	cert, key := certFiles(t, []byte(keys.CertificatePem), []byte(keys.KeyPair.PrivateKey))
	if out, err := mosquittoPub(t, append(mosquittoArgs(t, emu, "8883", cert, key), "-i", "cli-thing", "-t", "t/cli", "-m", "made by the aws CLI")...); err != nil {
		t.Fatalf("mosquitto_pub with the CLI's certificate: %v\n%s\n%s", err, out, dumpLog(emu))
	}
	waitEvent(t, emu, "Publish-In", "Success", "clientId=cli-thing", "principalId="+keys.CertificateID)

	if err := awsCLI(t, emu, nil, "iot", "delete-certificate", "--certificate-id", keys.CertificateID); err == nil || !strings.Contains(err.Error(), "CertificateStateException") {
		t.Fatalf("delete-certificate of an ACTIVE certificate: %v", err)
	}
	mustAWS(t, emu, nil, "iot", "update-certificate", "--certificate-id", keys.CertificateID, "--new-status", "INACTIVE")
	if out, err := mosquittoPub(t, append(mosquittoArgs(t, emu, "8883", cert, key), "-i", "cli-thing", "-t", "t/cli", "-m", "x")...); err == nil {
		t.Fatalf("mosquitto_pub after update-certificate INACTIVE succeeded:\n%s", out)
	}
	waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=cli-thing", "reason="+certauth.ReasonNotActive)
	if err := awsCLI(t, emu, nil, "iot", "delete-certificate", "--certificate-id", keys.CertificateID); err == nil || !strings.Contains(err.Error(), "DeleteConflictException") {
		t.Fatalf("delete-certificate while attached: %v", err)
	}
}
