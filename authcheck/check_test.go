package authcheck_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/authcheck"
)

// handle is a correct authorizer: it accepts the token "allow" and scopes the device to its
// own topics and the broadcast ones.
func handle(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	if req.Token != "allow" {
		return events.IoTCoreCustomAuthorizerResponse{}, nil
	}
	arn := "arn:aws:iot:us-east-1:123456789012:"
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "device",
		PolicyDocuments: []*events.IAMPolicyDocument{{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{
				{Effect: "Allow", Action: []string{"iot:Connect"}, Resource: []string{arn + "client/${iot:ClientId}"}},
				{Effect: "Allow", Action: []string{"iot:Publish", "iot:Receive"}, Resource: []string{arn + "topic/devices/${iot:ClientId}/*", arn + "topic/broadcast/*"}},
				{Effect: "Allow", Action: []string{"iot:Subscribe"}, Resource: []string{arn + "topicfilter/devices/${iot:ClientId}/*"}},
			},
		}},
	}, nil
}

// TestMyAuthorizer is the package documentation's example of the Go path.
func TestMyAuthorizer(t *testing.T) {
	t.Parallel()
	authcheck.Test(t, handle, authcheck.Device{Token: "allow", ClientID: "dev1"})
}

// TestRunFindings: an in-process handler whose policy has the mistakes AWS accepts gets each
// finding, grouped by severity, with its rule and fix.
func TestRunFindings(t *testing.T) {
	t.Parallel()
	bad := func(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		return events.IoTCoreCustomAuthorizerResponse{
			IsAuthenticated: true,
			PrincipalID:     "device",
			PolicyDocuments: []*events.IAMPolicyDocument{{
				Version: "2012-10-17",
				Statement: []events.IAMPolicyStatement{
					{Effect: "Allow", Action: []string{"iot:Connect"}, Resource: []string{"arn:aws:iot:eu-west-1:123456789012:client/sensor-*"}},
					{Effect: "Allow", Action: []string{"iot:Subscribe"}, Resource: []string{"arn:aws:iot:us-east-1:123456789012:topicfilter/devices/+/cmd"}},
					{Effect: "Allow", Action: []string{"iot:Publish"}, Resource: []string{"arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/x"}},
					{Effect: "Allow", Action: []string{"iot:*"}, Resource: []string{"*"}},
				},
			}},
		}, nil
	}
	r, err := authcheck.Run(context.Background(), authcheck.Function{Handler: bad}, authcheck.Device{Token: "t", ClientID: "dev1"}, authcheck.Options{WarmInvocations: 3})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]authcheck.Severity{}
	for _, f := range r.Findings {
		codes[f.Code] = f.Severity
		if f.Rule == "" || f.Fix == "" {
			t.Errorf("%s: no rule or fix", f.Code)
		}
	}
	want := map[string]authcheck.Severity{
		"other-region": authcheck.DeniesDevice, "mqtt-wildcard": authcheck.DeniesDevice, "thing-variable": authcheck.DeniesDevice,
		"allow-all": authcheck.Warning,
	}
	for code, sev := range want {
		if got, ok := codes[code]; !ok || got != sev {
			t.Errorf("finding %s: %v %v, want %v; all: %v", code, got, ok, sev, codes)
		}
	}
	if !r.Failed() {
		t.Error("the report passes")
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil || !strings.Contains(b.String(), "Would deny a device at run time") || !strings.Contains(b.String(), "Warnings (1)") {
		t.Errorf("%v\n%s", err, b.String())
	}
}

// TestRunOtherCredentials: a function that wants its own token key name, token, username and
// password, with signing disabled, gets them in every part of the check.
func TestRunOtherCredentials(t *testing.T) {
	t.Parallel()
	strict := func(ctx context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		if m := req.ProtocolData.MQTT; m != nil && strings.Contains(m.Username, "?") && (!strings.HasPrefix(m.Username, "me?") || !strings.Contains(m.Username, "x-token=t1")) {
			return events.IoTCoreCustomAuthorizerResponse{}, nil
		}
		if m := req.ProtocolData.MQTT; req.Token != "t1" || m != nil && string(m.Password) != "pw" { // aws-lambda-go decodes the base64
			return events.IoTCoreCustomAuthorizerResponse{}, nil
		}
		return handle(ctx, events.IoTCoreCustomAuthorizerRequest{Token: "allow"})
	}
	pw := "pw"
	dev := authcheck.Device{SigningDisabled: true, TokenKeyName: "x-token", Token: "t1", Username: "me", Password: &pw, ClientID: "c1",
		Allow: authcheck.Topics{Publish: []string{"broadcast/t", "devices/c1/t"}, Receive: []string{"devices/c1/r"}}, Deny: authcheck.Topics{Publish: []string{"devices/c2/t"}}}
	r, err := authcheck.Run(context.Background(), authcheck.Function{Handler: strict}, dev, authcheck.Options{WarmInvocations: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_ = r.WriteText(&b)
	if r.Failed() || len(r.Findings) != 0 {
		t.Error(b.String())
	}
}

// TestRunInvalidPolicy: a policy with an unknown condition operator is reported, not ignored.
func TestRunInvalidPolicy(t *testing.T) {
	t.Parallel()
	handler := func(context.Context, json.RawMessage) (map[string]any, error) {
		return map[string]any{"isAuthenticated": true, "principalId": "device", "policyDocuments": []string{
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEqualz":{"iot:ClientId":"dev1"}}}]}`,
		}}, nil
	}
	r, err := authcheck.Run(context.Background(), authcheck.Function{Handler: handler}, authcheck.Device{Token: "t"}, authcheck.Options{WarmInvocations: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 || r.Findings[0].Code != "policy-invalid" || !strings.Contains(strings.Join(r.Findings[0].Details, " "), "StringEqualz") {
		t.Errorf("findings %+v", r.Findings)
	}
}

// TestLoadFile reads a check file; paths are relative to it.
func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "check.yaml")
	data := "function: {path: ./bootstrap, environment: {AUTHORIZER_TOKEN: s3cret}}\ndevice:\n  token: s3cret\n  clientId: dev1\n  allow: {publish: [devices/dev1/t]}\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := authcheck.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Function.Path != filepath.Join(dir, "bootstrap") || f.Function.Env["AUTHORIZER_TOKEN"] != "s3cret" || f.Device.Token != "s3cret" || f.Device.Allow.Publish[0] != "devices/dev1/t" {
		t.Errorf("%+v", f)
	}
	if err := os.WriteFile(path, []byte("function: {path: x}\ndevice: {allow: {publsh: [a]}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := authcheck.LoadFile(path); err == nil || !strings.HasPrefix(err.Error(), path+`:2:18: unknown key "publsh"`) {
		t.Errorf("typo: %v", err)
	}
}
