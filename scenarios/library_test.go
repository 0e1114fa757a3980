package scenarios

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
)

// TestLibrary runs the whole embedded library: every scenario passes.
func TestLibrary(t *testing.T) {
	t.Parallel()
	scs, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	results := (&Runner{}).Run(context.Background(), scs, func(r *Result) {
		var b strings.Builder
		_ = WriteReport(&b, r)
		if !r.Passed() {
			t.Error(b.String())
		}
	})
	t.Log(Summary(results, time.Since(start)))
}

// TestLibraryTeaches checks the library's own rules: at least 25 cases, each file describes
// the symptom as seen on AWS with the log line, its cause and fix, and has a broken and a
// fixed variant.
func TestLibraryTeaches(t *testing.T) {
	t.Parallel()
	scs, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string][]string{}
	for _, sc := range scs {
		variants[sc.File] = append(variants[sc.File], path.Base(sc.Name))
		for _, part := range []string{"On AWS:", "Cause:", "Fix:"} {
			if !strings.Contains(sc.Description, part) {
				t.Errorf("%s: the description has no %q", sc.File, part)
			}
		}
		if sc.Cause != CauseDevice && sc.Cause != CauseFunction && sc.Cause != CauseCertificate {
			t.Errorf("%s: cause %q, want %s, %s or %s", sc.File, sc.Cause, CauseDevice, CauseFunction, CauseCertificate)
		}
		if sc.VariantDescription == "" {
			t.Errorf("%s: variant %s has no description", sc.File, sc.Name)
		}
	}
	if len(variants) < 25 {
		t.Errorf("the library has %d cases, want at least 25", len(variants))
	}
	for file, vs := range variants {
		if len(vs) < 2 || vs[0] != "broken" || vs[1] != "fixed" {
			t.Errorf("%s: variants %v, want broken and fixed first", file, vs)
		}
	}
}

// TestLibrarySubstituted runs the device-side cases with another function and other
// credentials, as iotemu check does: every one passes with any correct authorizer.
func TestLibrarySubstituted(t *testing.T) {
	t.Parallel()
	scs, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	var device []*Scenario
	for _, sc := range scs {
		if sc.Cause == CauseDevice {
			device = append(device, sc)
		}
	}
	password := "pw"
	sub := &Substitute{
		Function: emulator.Function{Kind: emulator.KindGo, Handler: func(_ context.Context, ev events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
			if ev.Token != "user-token" || (ev.ProtocolData.MQTT != nil && ev.ProtocolData.MQTT.ClientID != "user-1") {
				return events.IoTCoreCustomAuthorizerResponse{}, nil
			}
			return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: true, PrincipalID: "user", PolicyDocuments: []*events.IAMPolicyDocument{{
				Version:   "2012-10-17",
				Statement: []events.IAMPolicyStatement{{Effect: "Allow", Action: []string{"iot:Connect", "iot:Publish"}, Resource: []string{"*"}}},
			}}}, nil
		}},
		TokenKeyName: "x-token", Token: "user-token", User: "me", Password: &password, ClientID: "user-1", PublishTopic: "user/t",
	}
	(&Runner{Substitute: sub}).Run(context.Background(), device, func(r *Result) {
		if !r.Passed() {
			var b strings.Builder
			_ = WriteReport(&b, r)
			t.Error(b.String())
		}
	})
}
