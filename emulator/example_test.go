package emulator_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/iotlog"
)

// myAuthorizer is the handler of README's Go example: it accepts the token "allow".
func myAuthorizer(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	if req.Token != "allow" {
		return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: false}, nil
	}
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true,
		PrincipalID:     "device1",
		PolicyDocuments: []*events.IAMPolicyDocument{{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Effect:   "Allow",
				Action:   []string{"iot:Connect"},
				Resource: []string{"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},
			}},
		}},
	}, nil
}

// Example_deviceTest is README's "Using it from Go tests": a signing key pair, a signed token,
// the custom-auth username and a paho client connecting with them.
func Example_deviceTest() {
	key, err := emulator.GenerateSigningKey()
	if err != nil {
		log.Fatal(err)
	}
	publicKeyPEM, err := emulator.PublicKeyPEM(&key.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	emu, err := emulator.Start(emulator.Config{ // in a test: emulator.NewTest(t, cfg)
		Functions: []emulator.Function{{Name: "my-auth", Kind: emulator.KindGo, Handler: myAuthorizer}},
		Authorizers: []emulator.Authorizer{{
			Name:                   "MyAuth",
			FunctionARN:            "arn:aws:lambda:us-east-1:123456789012:function:my-auth",
			TokenKeyName:           "token",
			TokenSigningPublicKeys: map[string]string{"k1": publicKeyPEM},
		}},
	}, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	signature, err := emulator.SignToken(key, "allow")
	if err != nil {
		log.Fatal(err)
	}
	creds := emulator.DeviceCredentials{Authorizer: "MyAuth", TokenKeyName: "token", Token: "allow", Signature: signature}
	// The broker address, TLS with the emulator's CA, SNI = the endpoint, ALPN mqtt, and the
	// username ?x-amz-customauthorizer-name=MyAuth&token=allow&x-amz-customauthorizer-signature=...
	client := mqtt.NewClient(emu.MQTTOptions("device-1", creds))
	if t := client.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		log.Fatalf("connect: %v", t.Error())
	}
	defer client.Disconnect(250)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := emu.Logs().WaitEvent(ctx, iotlog.Match("Connect", "Success"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.EventType, ev.Status, ev.ClientID)
	// Output: Connect Success device-1
}

// TestVirtualClockSnippet runs README's virtual clock snippet.
func TestVirtualClockSnippet(t *testing.T) {
	t.Parallel()
	cfg := emulator.Config{Functions: []emulator.Function{{Name: "my-auth", Kind: emulator.KindGo, Handler: myAuthorizer}}}
	emu := emulator.NewTestWithOptions(t, cfg, emulator.Options{Clock: clock.NewVirtual(time.Now())})
	emu.Advance(301 * time.Second) // the refresh runs now, before Advance returns
	if got := emu.Clock().Now(); time.Until(got) < 300*time.Second {
		t.Errorf("the virtual clock is at %v", got)
	}
}

// TestPackageDocSnippet runs the package documentation's snippet.
func TestPackageDocSnippet(t *testing.T) {
	t.Parallel()
	key, err := emulator.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	publicKeyPEM, err := emulator.PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := emulator.Config{
		Functions:   []emulator.Function{{Name: "my-auth", Kind: emulator.KindGo, Handler: myAuthorizer}},
		Authorizers: []emulator.Authorizer{{Name: "MyAuth", FunctionARN: "my-auth", TokenKeyName: "token", TokenSigningPublicKeys: map[string]string{"k1": publicKeyPEM}}},
	}
	signature, err := emulator.SignToken(key, "allow")
	if err != nil {
		t.Fatal(err)
	}
	creds := emulator.DeviceCredentials{User: "me", Authorizer: "MyAuth", TokenKeyName: "token", Token: "allow", Signature: signature}
	// AWS: the base64 signature is URL-encoded in the username's query string.
	prefix, encoded, _ := strings.Cut(creds.Username(), "&x-amz-customauthorizer-signature=")
	if decoded, err := url.QueryUnescape(encoded); prefix != "me?x-amz-customauthorizer-name=MyAuth&token=allow" || err != nil || decoded != signature || strings.ContainsAny(encoded, "+/=") {
		t.Errorf("username %q", creds.Username())
	}
	emu := emulator.NewTest(t, cfg)
	client := mqtt.NewClient(emu.MQTTOptions("device-1", creds))
	if tok := client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	client.Disconnect(250)
}

// TestDocSnippets: every Go snippet of README.md and of the package documentation is code of
// a test or an example, line for line, so that it compiles and runs in CI.
func TestDocSnippets(t *testing.T) {
	var tests bytes.Buffer
	for _, f := range []string{"example_test.go", "example_x509_test.go", "../authcheck/check_test.go", "../scenarios/example_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests.Write(b)
	}
	code := normalize(tests.String())
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets := map[string][]string{}
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		snippets["README.md"] = append(snippets["README.md"], m[1])
	}
	for _, f := range []string{"emulator.go", "testing.go", "../authcheck/testing.go", "../scenarios/doc.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("(?m)(?:^//\t.*\n)+").FindAllString(string(src), -1) {
			snippets[f] = append(snippets[f], strings.ReplaceAll(m, "//\t", ""))
		}
	}
	if len(snippets["README.md"]) == 0 || len(snippets) != 5 {
		t.Fatalf("snippets found: %v", snippets)
	}
	for file, list := range snippets {
		for _, s := range list {
			if !strings.Contains(code, normalize(s)) {
				t.Errorf("%s: this snippet is in no example or test:\n%s", file, s)
			}
		}
	}
}

// normalize drops each line's indentation and blank lines.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
