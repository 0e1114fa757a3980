package emulator_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotemu/iotemu/internal/testtool"
)

// TestAWSCRTDevice runs testdata/awscrt_device.py, a device on AWS's C runtime that nobody on
// this project wrote the client of: it connects with custom authentication over MQTT (the
// username carrying the SDK's metrics) and over WSS (the credentials in the upgrade's
// headers), subscribes, publishes and receives its message; with a bad signature it is
// refused. It reaches the endpoint by name through the proxy's HTTP CONNECT.
func TestAWSCRTDevice(t *testing.T) {
	t.Parallel()
	py := testtool.AWSCRTPython(t)
	rec := &recorder{next: allow(openPolicy...)}
	emu := start(t, config(rec.handle))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := emu.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, transport, clientID, signature, expect string) {
		t.Helper()
		out, err := exec.Command(py, filepath.Join("testdata", "awscrt_device.py"),
			"--endpoint", emu.Endpoint(), "--proxy", emu.ProxyAddr().String(), "--ca", ca,
			"--transport", transport, "--authorizer", authName, "--token-key", tokenKey, "--token", goodToken,
			"--signature", signature, "--client-id", clientID, "--topic", "t/"+clientID, "--expect", expect,
		).CombinedOutput()
		if err != nil {
			t.Fatalf("awscrt device (%s, expect %s): %v\n%s\nemulator log:\n%s", transport, expect, err, out, dumpLog(emu))
		}
		t.Logf("awscrt device: %s", out)
	}
	good := sign(t, signingKey(), goodToken)

	t.Run("mqtt", func(t *testing.T) {
		run(t, "mqtt", "crt-mqtt", good, "connected")
		waitEvent(t, emu, "Connect", "Success", "clientId=crt-mqtt")
		waitEvent(t, emu, "Publish-Out", "Success", "clientId=crt-mqtt", "topicName=t/crt-mqtt")
		ev := rec.last(t)
		if u := ev.ProtocolData.MQTT.Username; !strings.HasSuffix(u, "&SDK=PythonV2&Version=1.0.0") {
			t.Errorf("the function got username %q; want the SDK's metrics at its end", u)
		}
	})
	t.Run("wss", func(t *testing.T) {
		run(t, "wss", "crt-wss", good, "connected")
		waitEvent(t, emu, "Publish-Out", "Success", "clientId=crt-wss", "topicName=t/crt-wss")
		ev := rec.last(t)
		if h := ev.ProtocolData.HTTP.Headers; ev.ProtocolData.HTTP == nil || h["x-amz-customauthorizer-name"] != authName {
			t.Errorf("the function got headers %v; want the credentials of the upgrade request", h)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		bad := sign(t, otherKey(), goodToken)
		for _, transport := range []string{"mqtt", "wss"} {
			run(t, transport, "crt-bad-"+transport, bad, "refused")
			waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId=crt-bad-"+transport, "reason=SECURITY_TOKEN_SIGNATURE_MISMATCH")
		}
	})
}
