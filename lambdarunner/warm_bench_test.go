//go:build linux

package lambdarunner

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/iotemu/iotemu/internal/testtool"
)

// BenchmarkWarmInvoke measures a warm invocation's round trip to the same binary, the
// example authorizer, two ways in one run: through our own Runtime API (executable kind), and
// through AWS's Runtime Interface Emulator (remote kind), the baseline. Each reports its p50 and
// p99; the target is ours no slower than RIE at both.
func BenchmarkWarmInvoke(b *testing.B) {
	bootstrap := buildExampleAuthorizer(b)
	event := []byte(`{"token":"s3cret","signatureVerified":false,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{"clientId":"bench-1","username":"u"}},"connectionMetadata":{"id":"7c1c0c5e-6a37-4c4f-9d0d-4f9b3f1e2a10"}}`)

	b.Run("runtimeapi", func(b *testing.B) {
		env, region := map[string]string{}, ""
		for _, kv := range authorizerEnv {
			k, v, _ := strings.Cut(kv, "=")
			if k == "AWS_REGION" { // set by the runtime from the function's region
				region = v
				continue
			}
			env[k] = v
		}
		e, err := NewExecutable(ExecutableConfig{Name: "authorizer", Path: bootstrap, Region: region, Env: env})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		benchWarm(b, e, event)
	})
	b.Run("rie", func(b *testing.B) {
		if testtool.Lookup(rieTool) == "" {
			b.Skipf("%s is not installed; run .ci/install-tools", rieTool)
		}
		rie := startRIE(b, bootstrap, authorizerEnv...)
		benchWarm(b, newTestRemote(b, RemoteConfig{URL: rie.url, FunctionName: "function"}), event)
	})
}

// benchWarm invokes rt once to warm it, then measures each invocation.
func benchWarm(b *testing.B, rt Runtime, event []byte) {
	invoke := func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := rt.Run(ctx, &Invocation{RequestID: uuid.NewString(), Event: event, Log: func(string) {}}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	invoke() // the cold start
	var took []time.Duration
	for b.Loop() {
		took = append(took, invoke())
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)-1)*50/100].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(took[(len(took)-1)*99/100].Nanoseconds())/1e3, "p99-µs")
}
