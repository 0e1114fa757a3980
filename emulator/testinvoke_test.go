package emulator_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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
			var answer struct {
				IsAuthenticated bool     `json:"isAuthenticated"`
				PolicyDocuments []string `json:"policyDocuments"`
			}
			err := awsCLI(t, emu, &answer, append(base, c.args...)...)
			if c.effect == "" {
				if err == nil || !strings.Contains(err.Error(), "InvalidResponseException") {
					t.Fatalf("aws %v: %+v, %v; want InvalidResponseException", c.args, answer, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("aws %v: %v", c.args, err)
			}
			if !answer.IsAuthenticated || len(answer.PolicyDocuments) != 1 || !strings.Contains(answer.PolicyDocuments[0], `"Effect":"`+c.effect+`"`) {
				t.Errorf("answer %+v; want one policy with Effect %s", answer, c.effect)
			}
		})
	}
}
