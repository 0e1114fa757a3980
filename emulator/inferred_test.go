package emulator_test

import (
	"net/http"
	"testing"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/iotlog"
)

// The tests of the Inferred switches run curl against both settings of each: the default
// (iotemu's reading) and the switch turned on.

// TestInferredHostWithoutSNI: curl to the IP address sends no SNI; its Host header names the
// endpoint. Refused by default; accepted with acceptHostWithoutSNI.
func TestInferredHostWithoutSNI(t *testing.T) {
	t.Parallel()
	for _, accept := range []bool{false, true} {
		cfg := config(allow(openPolicy...))
		cfg.Inferred.AcceptHostWithoutSNI = accept
		emu := start(t, cfg)
		url := "https://" + emu.Addr(emulator.Port443).String() + "/topics/t%2Fx?qos=1"
		status, body, err := curlTransfer(t, emu, append(curlHeaders(t, goodToken), "-H", "Host: "+emu.Endpoint(), "--data-binary", "x", url)...)
		switch {
		case accept && (err != nil || status != http.StatusOK):
			t.Errorf("acceptHostWithoutSNI: %d %s %v; want 200", status, body, err)
		case !accept && err == nil:
			t.Errorf("default: %d %s; want the connection refused", status, body)
		}
	}
}

// TestInferredHostWithSNI: the SNI names the endpoint, the Host header something else. 403 by
// default (logged SNI_MISUSED); accepted with ignoreHostWithSNI.
func TestInferredHostWithSNI(t *testing.T) {
	t.Parallel()
	for _, ignore := range []bool{false, true} {
		cfg := config(allow(openPolicy...))
		cfg.Inferred.IgnoreHostWithSNI = ignore
		emu := start(t, cfg)
		status, body := curl(t, emu, append(append(direct(emu), curlHeaders(t, goodToken)...),
			"-H", "Host: example.com", "--data-binary", "x", topicURL(emu, "t/x", "qos=1"))...)
		if ignore {
			expectBody(t, status, body, http.StatusOK, "OK")
			continue
		}
		expectBody(t, status, body, http.StatusForbidden, "Forbidden")
		waitEvent(t, emu, "Connection.AuthNError", "Failure", "reason=SNI_MISUSED")
	}
}

// TestInferredWrongSNIEvent: an SNI naming another account's endpoint is refused either way;
// the Connection.AuthNError SNI_MISUSED entry is logged by default, not with quietWrongSNI.
func TestInferredWrongSNIEvent(t *testing.T) {
	t.Parallel()
	for _, quiet := range []bool{false, true} {
		cfg := config(allow(openPolicy...))
		cfg.Inferred.QuietWrongSNI = quiet
		emu := start(t, cfg)
		other := "otheraccount000-ats.iot." + region + ".amazonaws.com"
		// The gateway logs a refusal before it closes the socket, so when curl returns the
		// log holds whatever the refusal wrote.
		_, _, err := curlTransfer(t, emu, "--connect-to", other+":443:"+emu.Addr(emulator.Port443).String(),
			"--data-binary", "x", "https://"+other+"/topics/t%2Fx")
		if err == nil {
			t.Fatalf("quietWrongSNI=%t: a wrong SNI was accepted", quiet)
		}
		logged := false
		for _, e := range emu.Logs().Events() {
			logged = logged || e.Reason == iotlog.ReasonSNIMisused
		}
		if logged == quiet {
			t.Errorf("quietWrongSNI=%t: SNI_MISUSED logged %t", quiet, logged)
		}
		traceMentions(t, emu, "is not this account's data endpoint")
	}
}
