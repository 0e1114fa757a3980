package lambdarunner

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkExecutableWarmInvoke measures an invocation's round trip through our Runtime API to
// a warm aws-lambda-go instance and back, and reports its p50 and p99.
func BenchmarkExecutableWarmInvoke(b *testing.B) {
	e, err := NewExecutable(ExecutableConfig{Name: "probe", Path: probeBinary(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	event := []byte(`{"do":"echo"}`)
	invoke := func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := e.Run(ctx, &Invocation{RequestID: "bench", Event: event, Log: func(string) {}}); err != nil {
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
	b.ReportMetric(float64(took[(len(took)-1)*50/100].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[(len(took)-1)*99/100].Microseconds()), "p99-µs")
}
