package customauth

import (
	"context"
	"net/url"
	"testing"
)

// BenchmarkAuthenticate measures the custom authentication of one MQTT connect, the function
// in process: "remembered" as a fleet makes it, every device with the signed token and the
// answer seen before; "first" with the signature check and the answer's validation done anew.
func BenchmarkAuthenticate(b *testing.B) {
	key1, _ := keys(b)
	req := mqtt("dev?x-amz-customauthorizer-name=MyAuth&token=aToken&x-amz-customauthorizer-signature=" + url.QueryEscape(mustSign(b, key1, "aToken")) + "&SDK=Go")
	for _, bc := range []struct {
		name   string
		forget bool
	}{{"remembered", false}, {"first", true}} {
		b.Run(bc.name, func(b *testing.B) {
			auth, _ := newFixture(b, allow, "")
			auth.Registry.(*fakeRegistry).invokers[arnAuth] = inProcess(b, allow) // no recorder: it keeps every event
			b.ReportAllocs()
			for b.Loop() {
				if bc.forget {
					verifications.m, answers.m = nil, nil
				}
				if _, err := auth.Authenticate(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
