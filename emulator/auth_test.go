package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
)

// TestConnectRefusals covers each way custom authentication fails at CONNECT: what an MQTT
// 3.1.1 and an MQTT 5 device see, the AWS log event, and the decision trace.
func TestConnectRefusals(t *testing.T) {
	t.Parallel()
	slow := func(ctx context.Context, _ events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		select {
		case <-time.After(7 * time.Second):
		case <-ctx.Done():
		}
		return events.IoTCoreCustomAuthorizerResponse{}, nil
	}
	answer := func(resp string) rawHandler { return func([]byte) []byte { return []byte(resp) } }
	doc := func(n int) string { // a policy document of exactly n characters
		base := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn("client/") + `*"}]}`
		return strings.Replace(base, `client/`, `client/`+strings.Repeat("x", n-len(base)), 1)
	}
	docs := func(n int) string {
		d := make([]string, n)
		for i := range d {
			d[i] = doc(150)
		}
		return "[" + strings.Join(d, ",") + "]"
	}
	ok := func(extra string) rawHandler {
		return answer(`{"isAuthenticated":true,"principalId":"p1","policyDocuments":[` + doc(200) + `]` + extra + `}`)
	}

	cases := []struct {
		name     string
		handler  any
		cfg      func(*emulator.Config)
		username func(t *testing.T) string
		reason   string // Connection.AuthNError reason; "" means a Connect AUTHORIZATION_FAILURE
		trace    string
	}{
		{name: "unknown authorizer", username: func(t *testing.T) string {
			return strings.Replace(username(t, goodToken), authName, "NoSuchAuth", 1)
		}, reason: "CUSTOM_AUTHORIZER_NOT_FOUND", trace: "NoSuchAuth"},
		{name: "no name and no default", username: func(t *testing.T) string {
			return strings.Replace(username(t, goodToken), "x-amz-customauthorizer-name="+authName+"&", "", 1)
		}, reason: "CUSTOM_AUTHORIZER_NOT_FOUND", trace: "default"},
		{name: "INACTIVE authorizer", cfg: func(c *emulator.Config) { c.Authorizers[0].Status = "INACTIVE" },
			reason: "CUSTOM_AUTHORIZER_NOT_FOUND", trace: "INACTIVE"},
		{name: "signature missing", username: func(t *testing.T) string {
			u := username(t, goodToken)
			return u[:strings.Index(u, "&x-amz-customauthorizer-signature")]
		}, reason: "CUSTOM_AUTHORIZER_PARAMETER_INVALID", trace: "signature"},
		{name: "signature from the wrong key", username: func(t *testing.T) string {
			return "dev?x-amz-customauthorizer-name=" + authName + "&token=" + goodToken + "&x-amz-customauthorizer-signature=" + url.QueryEscape(sign(t, otherKey(), goodToken))
		}, reason: "SECURITY_TOKEN_SIGNATURE_MISMATCH", trace: "signature"},
		{name: "signature over a different value", username: func(t *testing.T) string {
			return "dev?x-amz-customauthorizer-name=" + authName + "&token=" + goodToken + "&x-amz-customauthorizer-signature=" + url.QueryEscape(sign(t, signingKey(), "another-token"))
		}, reason: "SECURITY_TOKEN_SIGNATURE_MISMATCH", trace: "signature"},
		{name: "signature not URL-encoded", username: func(t *testing.T) string {
			// A signature with '+' sent raw: the query decoding reads '+' as a space.
			for i := 0; ; i++ {
				tok := fmt.Sprintf("%s-%d", goodToken, i)
				if sig := sign(t, signingKey(), tok); strings.Contains(sig, "+") {
					return "dev?x-amz-customauthorizer-name=" + authName + "&token=" + tok + "&x-amz-customauthorizer-signature=" + sig
				}
			}
		}, reason: "SECURITY_TOKEN_SIGNATURE_MISMATCH", trace: "signature"},
		{name: "token under the wrong key", username: func(t *testing.T) string {
			return strings.Replace(username(t, goodToken), "&token=", "&Token=", 1)
		}, reason: "CUSTOM_AUTHORIZER_PARAMETER_INVALID", trace: tokenKey},
		{name: "isAuthenticated false", handler: answer(`{"isAuthenticated":false}`), reason: "NOT_AUTHENTICATED", trace: "isAuthenticated"},
		{name: "invalid principalId", handler: answer(`{"isAuthenticated":true,"principalId":"user@example.com","policyDocuments":[` + doc(200) + `]}`),
			reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "principalId"},
		{name: "11 policy documents", handler: answer(`{"isAuthenticated":true,"principalId":"p1","policyDocuments":` + docs(11) + `}`),
			reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "10"},
		{name: "2049-character document", handler: answer(`{"isAuthenticated":true,"principalId":"p1","policyDocuments":[` + doc(2049) + `]}`),
			reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "2048"},
		{name: "disconnectAfterInSeconds too small", handler: ok(`,"disconnectAfterInSeconds":299`),
			reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "disconnectAfterInSeconds"},
		{name: "refreshAfterInSeconds too large", handler: ok(`,"refreshAfterInSeconds":86401`),
			reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "refreshAfterInSeconds"},
		{name: "handler error", handler: func(context.Context, events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
			return events.IoTCoreCustomAuthorizerResponse{}, errors.New("database unreachable")
		}, reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "database unreachable"},
		{name: "handler slower than 5 s", handler: slow, reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "5s"},
		{name: "unknown condition operator", handler: answer(`{"isAuthenticated":true,"principalId":"p1","policyDocuments":[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEqualz":{"iot:ClientId":"x"}}}]}]}`),
			reason: "CUSTOM_AUTHORIZER_LAMBDA_EXECUTION_ERROR", trace: "StringEqualz"},
		{name: "no iot:Connect", handler: allow(statement("Allow", []string{"iot:Publish"}, arn("topic/*"))),
			reason: "", trace: "iot:Connect"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.handler
			if h == nil {
				h = allow(openPolicy...)
			}
			cfg := config(h)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			emu := start(t, cfg)
			for _, version := range []string{"3.1.1", "5"} {
				clientID := "dev-" + strings.ReplaceAll(version, ".", "")
				d := newDevice(t, emu, clientID)
				if tc.username != nil {
					d.username = tc.username(t)
				}
				if version == "5" {
					_, ack, err := d.connectV5(t)
					if err == nil || ack == nil || ack.ReasonCode != 0x87 {
						t.Fatalf("MQTT 5: got CONNACK %+v, err %v; want CONNACK 0x87 Not authorized", ack, err)
					}
				} else {
					_, err := d.connectV3(t)
					if err == nil || isConnackRefusal(err) {
						t.Fatalf("MQTT 3.1.1: got %v; want the connection closed without CONNACK", err)
					}
				}
				if tc.reason != "" {
					ev := waitEvent(t, emu, "Connection.AuthNError", "Failure", "clientId="+clientID, "reason="+tc.reason)
					if ev.ServerName != emu.Endpoint() {
						t.Errorf("AuthNError carries SNI %q, want %q", ev.ServerName, emu.Endpoint())
					}
				} else {
					waitEvent(t, emu, "Connect", "Failure", "clientId="+clientID, "reason=AUTHORIZATION_FAILURE")
				}
			}
			traceMentions(t, emu, tc.trace)
		})
	}
}

// TestDefaultAuthorizer: a device that names no authorizer is served by the default one.
func TestDefaultAuthorizer(t *testing.T) {
	t.Parallel()
	cfg := config(allow(openPolicy...))
	cfg.DefaultAuthorizer = authName
	emu := start(t, cfg)
	d := newDevice(t, emu, "dev-default")
	d.username = strings.Replace(d.username, "x-amz-customauthorizer-name="+authName+"&", "", 1)
	if _, err := d.connectV3(t); err != nil {
		t.Fatalf("connect through the default authorizer: %v", err)
	}
	waitEvent(t, emu, "Connect", "Success", "clientId=dev-default", "principalId=principal1")
	traceMentions(t, emu, "default")
}

// TestEventShape checks, field by field, the event the handler receives for a direct MQTT
// connection against AWS's documented shape.
func TestEventShape(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	h := rawHandler(func(event []byte) []byte {
		got <- event
		return []byte(`{"isAuthenticated":true,"principalId":"p1","policyDocuments":[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}]}`)
	})
	emu := start(t, config(h))
	d := newDevice(t, emu, "dev-shape")
	d.username = username(t, goodToken) + "&SDK=PythonV2&Version=1.28.0"
	opts := d
	c, _, err := opts.connectV5WithPassword(t, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	var raw []byte
	select {
	case raw = <-got:
	case <-time.After(waitLong):
		t.Fatal("handler not invoked")
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	meta := ev["connectionMetadata"].(map[string]any)
	id, _ := meta["id"].(string)
	if len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("connectionMetadata.id = %q, want a UUID", id)
	}
	want := map[string]any{
		"token":             goodToken,
		"signatureVerified": true,
		"protocols":         []any{"tls", "mqtt"},
		"protocolData": map[string]any{
			"tls": map[string]any{"serverName": emu.Endpoint()},
			"mqtt": map[string]any{
				"username": d.username,
				"password": "c2VjcmV0", // AWS: base64 of the password bytes
				"clientId": "dev-shape",
			},
		},
		"connectionMetadata": map[string]any{"id": id},
	}
	wantJSON, _ := json.MarshalIndent(want, "", " ")
	gotJSON, _ := json.MarshalIndent(ev, "", " ")
	if string(wantJSON) != string(gotJSON) {
		t.Errorf("event sent to the authorizer:\n%s\nwant:\n%s", gotJSON, wantJSON)
	}
	var typed events.IoTCoreCustomAuthorizerRequest
	if err := json.Unmarshal(raw, &typed); err != nil || string(typed.ProtocolData.MQTT.Password) != "secret" {
		t.Errorf("event does not decode into aws-lambda-go's type: %v %+v", err, typed)
	}
}
