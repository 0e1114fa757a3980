package emulator_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
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

// TestREADMEGoSnippets: every Go snippet of README.md is code of this package's tests or
// examples, line for line, so that it compiles and runs in CI.
func TestREADMEGoSnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var tests bytes.Buffer
	for _, f := range []string{"example_test.go", "../authcheck/check_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests.Write(b)
	}
	code := normalize(tests.String())
	snippets := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(snippets) == 0 {
		t.Fatal("README.md has no Go snippet")
	}
	for _, s := range snippets {
		if !strings.Contains(code, normalize(s[1])) {
			t.Errorf("README.md's snippet is in no example or test:\n%s", s[1])
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
