package iotlog_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
)

// A reader (a query engine, a console) subscribes a sink; a test reads the in-memory store
// after a Flush.
func ExampleLogger_Subscribe() {
	mem := iotlog.NewMemory()
	at := time.Date(2026, 11, 29, 16, 45, 20, 288e6, time.UTC)
	log := iotlog.NewWithOptions(iotlog.Options{
		Levels: iotlog.Levels{Default: iotlog.LevelError},
		Now:    func() time.Time { return at },
	}, mem)
	defer log.Close()
	unsubscribe := log.Subscribe(iotlog.NewJSONSink(os.Stdout))
	defer unsubscribe()

	dev := &iotlog.Who{ClientID: "dev1"}
	log.Event(iotlog.Event{EventType: iotlog.EventConnect, Status: iotlog.StatusSuccess, ClientID: "dev1"}, dev) // hidden at ERROR
	log.Event(iotlog.Event{EventType: iotlog.EventConnect, Status: iotlog.StatusFailure, ClientID: "dev1", TraceID: "t1", AccountID: "123456789012"}, dev)
	_ = log.Flush(context.Background())

	events, next := mem.EventsSince(0)
	fmt.Println(len(events), events[0].LogLevel, next)
	// Output:
	// {"timestamp":"2026-11-29 16:45:20.288","logLevel":"ERROR","traceId":"t1","accountId":"123456789012","status":"Failure","eventType":"Connect","clientId":"dev1"}
	// 1 ERROR 1
}

func ExampleRedact() {
	fmt.Println(iotlog.Redact("allow"))
	fmt.Println(iotlog.ShortSignature("gQ0xM3fAbcdefgh9bKw=="))
	// Output:
	// <redacted sha256:41008373, 5 bytes>
	// gQ0x…Kw==
}
