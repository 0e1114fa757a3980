package iotlog

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRecordPublish records what one allowed PUBLISH costs the log on the publisher's
// goroutine: a decision trace and a Publish-In event, with serve's sinks (text on stdout and
// the in-memory store).
// Allocations and time include the Logger's goroutine, which formats the text line and
// stores the records. The queue holds 2^17 records, so up to -benchtime 60000x nothing is
// dropped and every record is paid for in full (dropped/op says so).
func BenchmarkRecordPublish(b *testing.B) {
	benchmarkRecordPublish(b, NewWithOptions(Options{QueueLen: 1 << 17}, NewTextSink(io.Discard, false), NewMemory()))
}

// BenchmarkRecordPublishProducer is the producer's share alone: no sink subscribed.
func BenchmarkRecordPublishProducer(b *testing.B) {
	benchmarkRecordPublish(b, NewWithOptions(Options{QueueLen: 1 << 17}))
}

func benchmarkRecordPublish(b *testing.B, l *Logger) {
	defer l.Close()
	topic := "demo/" + strconv.Itoa(42)
	b.ReportAllocs()
	for b.Loop() {
		id := NewTraceID()
		l.Trace(Trace{TraceID: id, ConnectionID: "c-1", ClientID: "dev1", Step: StepPublish, Explain: explanation{}})
		l.Event(Event{TraceID: id, AccountID: "123456789012", Status: StatusSuccess, EventType: EventPublishIn, Protocol: ProtocolMQTT, TopicName: topic, ClientID: "dev1", PrincipalID: "p", SourceIP: "127.0.0.1", SourcePort: 5000, ConnectionID: "c-1", Timestamp: time.Now()}, nil)
	}
	_ = l.Flush(context.Background())
	b.ReportMetric(float64(l.Stats().Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkRecordPublishHidden is BenchmarkRecordPublish at logging level ERROR, where AWS
// does not write the Publish-In success: the broker asks Enabled first and builds nothing.
func BenchmarkRecordPublishHidden(b *testing.B) {
	l := NewWithOptions(Options{Levels: Levels{Default: LevelError}}, NewTextSink(io.Discard, false), NewMemory())
	defer l.Close()
	w := &Who{ClientID: "dev1", SourceIP: "127.0.0.1", PrincipalID: "p"}
	b.ReportAllocs()
	for b.Loop() {
		if l.Enabled(StatusSuccess, w) {
			b.Fatal("enabled at ERROR")
		}
	}
}

// explanation stands for a policy decision explained lazily.
type explanation struct{}

func (explanation) String() string {
	return "allowed by policy 1 statement 0 (Allow iot:Publish on arn:aws:iot:us-east-1:123456789012:topic/demo/*)"
}

// BenchmarkRecordDelivery records one successful delivery (Publish-Out) as the broker does,
// with serve's sinks, flushing every 1,024 records so that the Logger's goroutine (trace ID,
// text line, store) is paid for in full and nothing is dropped. copy is Event, which copies
// every string; nocopy is EventNoCopy, for strings the producer already owns.
func BenchmarkRecordDelivery(b *testing.B) {
	for _, tc := range []struct {
		name   string
		record func(*Logger, Event, *Who)
	}{
		{"copy", (*Logger).Event},
		{"nocopy", (*Logger).EventNoCopy},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := NewWithOptions(Options{}, NewTextSink(io.Discard, false), NewMemory())
			defer l.Close()
			w := &Who{ClientID: "dev1", SourceIP: "127.0.0.1", PrincipalID: "p"}
			e := Event{AccountID: "123456789012", Status: StatusSuccess, EventType: EventPublishOut, Protocol: ProtocolMQTT,
				TopicName: "demo/" + strconv.Itoa(42), ClientID: "dev1", PrincipalID: "p", SourceIP: "127.0.0.1", SourcePort: 5000,
				ConnectionID: "5c9b2d1e-8f3a-4b6c-9d2e-1a7f3c5b8e90"}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				tc.record(l, e, w)
				if n++; n%1024 == 0 {
					_ = l.Flush(context.Background())
				}
			}
			_ = l.Flush(context.Background())
			if d := l.Stats().Dropped; d > 0 {
				b.Fatalf("%d records dropped", d)
			}
		})
	}
}

// BenchmarkMemoryWriteEvent is the in-memory store's share of a delivery's cost on the
// Logger's goroutine: storing one Publish-Out event, with a new trace ID each time.
func BenchmarkMemoryWriteEvent(b *testing.B) {
	m := NewMemory()
	e := Event{Timestamp: time.Now(), LogLevel: LevelInfo, AccountID: "123456789012", Status: StatusSuccess, EventType: EventPublishOut,
		Protocol: ProtocolMQTT, TopicName: "demo/" + strconv.Itoa(42), ClientID: "dev1", PrincipalID: "p", SourceIP: "127.0.0.1",
		SourcePort: 5000, ConnectionID: "5c9b2d1e-8f3a-4b6c-9d2e-1a7f3c5b8e90"}
	b.ReportAllocs()
	for b.Loop() {
		e.TraceID = NewTraceID()
		m.WriteEvent(e)
	}
}
