package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotemu/iotemu/internal/syncbuf"
	"github.com/iotemu/iotemu/internal/testtool"
)

const guideQuery = `display clientId, eventType, status, @timestamp | sort @timestamp desc | filter status = "Failure"`

// serveFaulty runs `iotemu serve` with one authorizer backed by a real aws-lambda-go function
// (emulator/testdata/faulty: token allow connects, deny is refused, error fails the
// invocation), and returns the proxy and control-plane addresses.
func serveFaulty(t *testing.T) (proxy, api, dir string, out *syncbuf.Buffer) {
	t.Helper()
	dir = t.TempDir()
	bin := filepath.Join(dir, "faulty")
	build := exec.Command("go", "build", "-o", bin, "../../emulator/testdata/faulty")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cfg := `accountId: "123456789012"
region: us-east-1
endpointPrefix: a1b2c3d4e5f6g7
listen:
  "443": 127.0.0.1:0
  proxy: 127.0.0.1:0
  api: 127.0.0.1:0
authorizers:
  - authorizerName: faulty
    authorizerFunctionArn: arn:aws:lambda:us-east-1:123456789012:function:faulty
    tokenKeyName: token
    signingDisabled: true
    status: ACTIVE
functions:
  - name: faulty
    kind: executable
    path: ` + bin + "\n"
	cfgPath := filepath.Join(dir, "iotemu.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out = startServe(t, cfgPath, dir, nil)
	waitFor(t, out, "CA certificate")
	return bannerAddr(t, out, "proxy"), bannerAddr(t, out, "control plane"), dir, out
}

// bannerAddr returns the address serve's banner prints after label.
func bannerAddr(t *testing.T, out *syncbuf.Buffer, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + label + ` +(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the banner has no %q line:\n%s", label, out)
	}
	return m[1]
}

// connect publishes once with mosquitto_pub as client clientID with token; it reports whether
// the broker accepted the connection.
func connect(t *testing.T, proxy, dir, clientID, token string) bool {
	t.Helper()
	cmd := exec.Command("mosquitto_pub", "--proxy", "socks5h://"+proxy, "-h", "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com", "-p", "443",
		"--cafile", filepath.Join(dir, "data", "ca.pem"), "--tls-alpn", "mqtt",
		"-u", "dev?x-amz-customauthorizer-name=faulty&token="+token, "-i", clientID, "-t", "demo/x", "-m", "hi")
	return cmd.Run() == nil
}

// awsCLI runs the aws CLI against the control plane with dummy credentials and returns its
// JSON output.
func awsCLI(t *testing.T, api string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", api, "--output", "json"}, args...)...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_EC2_METADATA_DISABLED=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestTroubleshootingGuideWithAWSCLI follows the guide's metrics and Logs Insights steps with
// the aws CLI against `iotemu serve`, after an accepted, a refused and a failing device.
func TestTroubleshootingGuideWithAWSCLI(t *testing.T) {
	testtool.Require(t, "aws")
	testtool.Require(t, "mosquitto_pub")
	proxy, api, dir, out := serveFaulty(t)
	if !connect(t, proxy, dir, "dev-allow", "allow") {
		t.Fatalf("the accepted device was refused:\n%s", out)
	}
	if connect(t, proxy, dir, "dev-deny", "deny") || connect(t, proxy, dir, "dev-error", "error") {
		t.Fatal("a refused device connected")
	}
	waitFor(t, out, "client=dev-error")

	// Step 3: the Logs Insights query, verbatim.
	now := time.Now().Unix()
	var started struct {
		QueryID string `json:"queryId"`
	}
	if err := json.Unmarshal(awsCLI(t, api, "logs", "start-query", "--log-group-name", "AWSIotLogsV2",
		"--start-time", strconv.FormatInt(now-600, 10), "--end-time", strconv.FormatInt(now+60, 10),
		"--query-string", guideQuery), &started); err != nil || started.QueryID == "" {
		t.Fatalf("start-query: %v", err)
	}
	var results struct {
		Results [][]struct{ Field, Value string }
		Status  string
	}
	if err := json.Unmarshal(awsCLI(t, api, "logs", "get-query-results", "--query-id", started.QueryID), &results); err != nil {
		t.Fatal(err)
	}
	var clients []string
	for _, row := range results.Results {
		for _, f := range row {
			switch {
			case f.Field == "clientId":
				clients = append(clients, f.Value)
			case f.Field == "status" && f.Value != "Failure":
				t.Errorf("a %s row", f.Value)
			}
		}
	}
	if got := strings.Join(clients, ","); got != "dev-error,dev-deny" || results.Status != "Complete" {
		t.Errorf("rows of %s (%s), want dev-error,dev-deny", got, results.Status)
	}

	// The log groups, and the failures through a JSON filter pattern.
	var groups struct {
		LogGroups []struct{ LogGroupName string }
	}
	if err := json.Unmarshal(awsCLI(t, api, "logs", "describe-log-groups"), &groups); err != nil || len(groups.LogGroups) != 2 ||
		groups.LogGroups[0].LogGroupName != "AWSIotLogsV2" || groups.LogGroups[1].LogGroupName != "/aws/lambda/faulty" {
		t.Errorf("describe-log-groups: %+v, %v", groups, err)
	}
	var filtered struct{ Events []struct{ Message string } }
	if err := json.Unmarshal(awsCLI(t, api, "logs", "filter-log-events", "--log-group-name", "AWSIotLogsV2",
		"--filter-pattern", `{ $.status = "Failure" }`), &filtered); err != nil || len(filtered.Events) != 2 {
		t.Errorf("filter-log-events: %+v, %v", filtered, err)
	}

	// Step 2: the authorizer's invocation metrics.
	sum := func(metric string) float64 {
		var stats struct{ Datapoints []struct{ Sum float64 } }
		if err := json.Unmarshal(awsCLI(t, api, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", metric,
			"--dimensions", "Name=FunctionName,Value=faulty", "--start-time", time.Unix(now-600, 0).UTC().Format(time.RFC3339),
			"--end-time", time.Unix(now+600, 0).UTC().Format(time.RFC3339), "--period", "60", "--statistics", "Sum"), &stats); err != nil {
			t.Fatal(err)
		}
		var total float64
		for _, d := range stats.Datapoints {
			total += d.Sum
		}
		return total
	}
	if got := sum("Invocations"); got != 3 {
		t.Errorf("Invocations %v, want 3", got)
	}
	if got := sum("Errors"); got != 1 {
		t.Errorf("Errors %v, want 1", got)
	}

	// The same through iotemu's own commands.
	var table bytes.Buffer
	if err := run([]string{"logs", "query", "-endpoint", api, guideQuery}, &table, &table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(table.String(), "\n")
	if !strings.HasPrefix(lines[0], "clientId") || !strings.HasPrefix(lines[2], "dev-error ") || !strings.HasPrefix(lines[3], "dev-deny ") || strings.Contains(table.String(), "dev-allow") {
		t.Errorf("iotemu logs query:\n%s", table.String())
	}
	// The first row (the function's lines, without clientId) lacks a column: it keeps its place.
	var stats bytes.Buffer
	if err := run([]string{"logs", "query", "-endpoint", api, "stats count(*) by clientId"}, &stats, &stats); err != nil {
		t.Fatal(err)
	}
	if header := strings.Fields(strings.SplitN(stats.String(), "\n", 2)[0]); strings.Join(header, " ") != "clientId count(*)" {
		t.Errorf("stats columns %v:\n%s", header, stats.String())
	}
	var asJSON bytes.Buffer
	if err := run([]string{"logs", "query", "-endpoint", api, "--json", "stats count(*) as n by status"}, &asJSON, &asJSON); err != nil {
		t.Fatal(err)
	}
	var counts []map[string]string
	if err := json.Unmarshal(asJSON.Bytes(), &counts); err != nil || len(counts) == 0 {
		t.Errorf("iotemu logs query --json: %v\n%s", err, asJSON.String())
	}
	var tail bytes.Buffer
	if err := run([]string{"logs", "tail", "-endpoint", api, "-group", "/aws/lambda/faulty", "-filter-pattern", "REPORT"}, &tail, &tail); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(tail.String(), "REPORT RequestId: "); n != 3 {
		t.Errorf("iotemu logs tail: %d REPORT lines, want 3:\n%s", n, tail.String())
	}
}
