package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/internal/testtool"
)

// tutorialAuthorizer is written like the function of AWS's custom-authentication tutorial:
// when the event has no protocolData (test-invoke-authorizer with only a token and signature)
// it answers with a Deny policy; otherwise it reads the actionToken parameter of
// protocolData.http.queryString, without checking that http is there (the tutorial's
// JavaScript throws when it is not; this Go function panics).
func tutorialAuthorizer(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	effect := "Deny"
	if req.ProtocolData != nil {
		q, _ := url.ParseQuery(strings.TrimPrefix(req.ProtocolData.HTTP.QueryString, "?"))
		if strings.EqualFold(q.Get("actionToken"), "allow") {
			effect = "Allow"
		}
	}
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "principalId",
		PolicyDocuments: []*events.IAMPolicyDocument{{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			statement(effect, []string{"iot:Publish"}, arn("topic/customauthtesting")),
		}}},
		DisconnectAfterInSeconds: 3600,
		RefreshAfterInSeconds:    300,
	}, nil
}

// TestInvokeAuthorizerTutorialFunction runs the aws CLI's test-invoke-authorizer against a
// function written like AWS's tutorial one. With only --token and --token-signature the event
// has no protocolData, so the function answers Deny (as the tutorial says AWS does); with an
// --http-context it reads the query string; with only an --mqtt-context it fails, and AWS's
// answer is InvalidResponseException.
func TestInvokeAuthorizerTutorialFunction(t *testing.T) {
	t.Parallel()
	cfg := config(tutorialAuthorizer)
	cfg.Listen.API = "127.0.0.1:0"
	emu := start(t, cfg)
	sig := sign(t, signingKey(), "tokenKeyValue")
	base := []string{"iot", "test-invoke-authorizer", "--authorizer-name", authName, "--token", "tokenKeyValue", "--token-signature", sig}

	for _, c := range []struct {
		name   string
		args   []string
		effect string // "" when the call must fail
	}{
		{"token only", nil, "Deny"},
		{"http context", []string{"--http-context", `{"headers":{},"queryString":"?actionToken=allow"}`}, "Allow"},
		{"mqtt context only", []string{"--mqtt-context", `{"clientId":"c1"}`}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := awsCLI(t, emu, append(base, c.args...)...)
			if c.effect == "" {
				if err == nil || !strings.Contains(errOut, "InvalidResponseException") {
					t.Fatalf("aws %v: %v\n%s%s; want InvalidResponseException", c.args, err, out, errOut)
				}
				return
			}
			if err != nil {
				t.Fatalf("aws %v: %v\n%s", c.args, err, errOut)
			}
			var answer struct {
				IsAuthenticated bool     `json:"isAuthenticated"`
				PolicyDocuments []string `json:"policyDocuments"`
			}
			if err := json.Unmarshal([]byte(out), &answer); err != nil {
				t.Fatalf("answer %s: %v", out, err)
			}
			if !answer.IsAuthenticated || len(answer.PolicyDocuments) != 1 || !strings.Contains(answer.PolicyDocuments[0], `"Effect":"`+c.effect+`"`) {
				t.Errorf("answer %s; want one policy with Effect %s", out, c.effect)
			}
		})
	}
}

// awsCLI runs the aws CLI against the emulator's control plane with dummy credentials and
// returns its standard output and error.
func awsCLI(t testing.TB, emu *emulator.Emulator, args ...string) (string, string, error) {
	t.Helper()
	bin := testtool.Require(t, "aws")
	cmd := exec.Command(bin, append([]string{"--endpoint-url", "http://" + emu.APIAddr().String(), "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION="+region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
