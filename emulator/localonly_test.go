package emulator_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/internal/testtool"
)

// TestAdminAndControlPlaneRefuseWebPages: the requests a web page can make a browser send
// (a rebound Host, a cross-origin post, a text/plain simple request) change nothing, while the
// aws CLI, which names the endpoint URL's host and sends no Origin, keeps working.
func TestAdminAndControlPlaneRefuseWebPages(t *testing.T) {
	t.Parallel()
	cfg := config(allow(openPolicy...))
	cfg.Listen.Admin = "127.0.0.1:0"
	cfg.Listen.API = "127.0.0.1:0"
	cfg.Listen.AllowedHosts = []string{"iotemu"}
	emu := emulator.NewTestWithOptions(t, cfg, emulator.Options{Clock: clock.NewAdjustable()})
	admin, api := "http://"+emu.AdminAddr().String(), "http://"+emu.APIAddr().String()

	send := func(method, url, host string, headers map[string]string, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	before := emu.Clock().Now()
	defaultAuthorizer := api + "/default-authorizer"
	for _, tc := range []struct {
		name, method, url, host string
		headers                 map[string]string
	}{
		// The reproduction of the report: a rebound name with a simple request.
		{"rebound clock advance", "POST", admin + "/clock/advance?by=24h", "evil.example.com", map[string]string{"Content-Type": "text/plain"}},
		{"rebound default authorizer", "POST", defaultAuthorizer, "evil.example.com", map[string]string{"Content-Type": "text/plain"}},
		{"rebound read of the metrics", "GET", admin + "/metrics", "evil.example.com:9081", nil},
		{"cross-site post", "POST", admin + "/clock/advance?by=24h", "", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"post from another origin", "POST", defaultAuthorizer, "", map[string]string{"Origin": "http://evil.example.com", "Content-Type": "application/json"}},
		{"text/plain post", "POST", admin + "/clock/advance?by=24h", "", map[string]string{"Content-Type": "text/plain"}},
	} {
		body := ""
		if strings.HasPrefix(tc.url, defaultAuthorizer) {
			body = `{"authorizerName":"Other"}`
		}
		if got := send(tc.method, tc.url, tc.host, tc.headers, body); got != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, got)
		}
	}
	if now := emu.Clock().Now(); now.Sub(before) >= time.Hour {
		t.Fatalf("a refused request moved the clock from %v to %v", before, now)
	}
	if got := send("GET", admin+"/health", "iotemu:9081", nil, ""); got != http.StatusOK {
		t.Errorf("a configured host name: %d", got)
	}
	if got := send("POST", admin+"/clock/advance?by=1s", "localhost", nil, ""); got != http.StatusOK {
		t.Errorf("curl -X POST on localhost: %d", got)
	}

	aws := testtool.Require(t, "aws")
	port := emu.APIAddr().String()[strings.LastIndex(emu.APIAddr().String(), ":"):]
	for _, endpoint := range []string{"http://localhost" + port, api} {
		cli := func(args ...string) string {
			t.Helper()
			cmd := exec.Command(aws, append(args, "--endpoint-url", endpoint, "--region", region, "--output", "json")...)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws %s --endpoint-url %s: %v\n%s", strings.Join(args, " "), endpoint, err, out)
			}
			return string(out)
		}
		cli("iot", "set-default-authorizer", "--authorizer-name", authName)
		if out := cli("iot", "describe-default-authorizer"); !strings.Contains(out, `"authorizerName": "`+authName+`"`) {
			t.Fatalf("describe-default-authorizer after set-default-authorizer: %s", out)
		}
	}
}
