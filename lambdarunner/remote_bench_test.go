//go:build linux

package lambdarunner

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkRemoteWarmInvoke measures a warm invocation's round trip through Remote and AWS's
// Runtime Interface Emulator to the example authorizer, reporting the median and 99th
// percentile: the baseline for our own Runtime API.
func BenchmarkRemoteWarmInvoke(b *testing.B) {
	if lookupTool(rieTool) == "" {
		b.Skipf("%s is not installed; run .ci/install-tools", rieTool)
	}
	rie := startRIE(b, buildExampleAuthorizer(b), authorizerEnv...) // its probe warms the function
	remote := newTestRemote(b, RemoteConfig{URL: rie.url, FunctionName: "function"})
	event := []byte(`{"token":"s3cret","signatureVerified":false,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{"clientId":"bench-1","username":"u"}},"connectionMetadata":{"id":"7c1c0c5e-6a37-4c4f-9d0d-4f9b3f1e2a10"}}`)
	var durations []time.Duration
	for b.Loop() {
		inv := &Invocation{RequestID: uuid.NewString(), Event: event}
		start := time.Now()
		if _, err := remote.Run(context.Background(), inv); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	percentile := func(p int) float64 {
		return float64(durations[(len(durations)-1)*p/100].Nanoseconds()) / 1e3
	}
	b.ReportMetric(percentile(50), "p50-µs")
	b.ReportMetric(percentile(99), "p99-µs")
}
