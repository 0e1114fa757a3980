package insights

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkGuideQuery runs the troubleshooting guide's query over 100,000 AWS IoT events, a
// tenth of them failures.
func BenchmarkGuideQuery(b *testing.B) {
	events := make([]Event, 100_000)
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for i := range events {
		ts := start.Add(time.Duration(i) * time.Millisecond)
		status, typ := "Success", "Publish-In"
		if i%10 == 0 {
			status, typ = "Failure", "Connection.AuthNError"
		}
		events[i] = Event{Timestamp: ts, Log: iotLog, LogStream: iotStream, Message: fmt.Sprintf(
			`{"timestamp":"%s","logLevel":"INFO","traceId":"%08x-0000-4000-8000-000000000000","accountId":"123456789012","status":"%s","eventType":"%s","protocol":"MQTT","topicName":"dev/d%d/up","clientId":"d%d","principalId":"p%d","sourceIp":"127.0.0.1","sourcePort":%d}`,
			ts.Format("2006-01-02 15:04:05.000"), i, status, typ, i%500, i%500, i%500, 40000+i%20000)}
	}
	q, err := Parse(`display clientId, eventType, status, @timestamp | sort @timestamp desc | filter status = "Failure"`)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if res := q.Run(events); res.RecordsMatched != 10_000 {
			b.Fatalf("%d matched", res.RecordsMatched)
		}
	}
}
