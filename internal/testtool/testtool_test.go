package testtool

import "testing"

func TestReportLine(t *testing.T) {
	got := reportLine([]string{"mosquitto_sub", "aws-lambda-rie", "mosquitto_pub"})
	want := "iotemu tests: skipped the tests that need aws-lambda-rie, mosquitto_pub, mosquitto_sub " +
		"(install: bash .ci/install-tools (go install of AWS's Runtime Interface Emulator); install: apt-get install mosquitto-clients; " +
		"IOTEMU_REQUIRE_ALL=1 makes them fail instead)"
	if got != want {
		t.Errorf("reportLine =\n%s\nwant\n%s", got, want)
	}
}
