package iotlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var testTime = time.Date(2024, 5, 6, 19, 2, 3, 123_000_000, time.UTC)

func TestJSONSink(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSONSink(&buf)
	s.WriteEvent(Event{Timestamp: testTime, LogLevel: LevelInfo, TraceID: "t", AccountID: "a",
		Status: StatusSuccess, EventType: EventConnect, ConnectionID: "c-1"})
	s.WriteTrace(Trace{Time: testTime, ConnectionID: "c-1", Step: StepConnect, Message: "allowed"})
	_ = s.(Flusher).Flush()

	want := `{"timestamp":"2024-05-06 19:02:03.123","logLevel":"INFO","traceId":"t","accountId":"a","status":"Success","eventType":"Connect"}` + "\n" +
		`{"iotemuTrace":true,"timestamp":"2024-05-06 19:02:03.123","connectionId":"c-1","step":"connect","message":"allowed"}` + "\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// failWriter fails every write and counts calls.
type failWriter struct {
	mu    sync.Mutex
	calls int
}

func (w *failWriter) Write([]byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	return 0, errors.New("disk full")
}

func TestJSONSinkStopsAfterWriteError(t *testing.T) {
	w := &failWriter{}
	s := NewJSONSink(w)
	s.WriteEvent(Event{})
	_ = s.(Flusher).Flush()
	s.WriteEvent(Event{})
	s.WriteTrace(Trace{})
	_ = s.(Flusher).Flush()
	if w.calls != 1 {
		t.Errorf("%d writes after an error, want 1 in all", w.calls)
	}
}

func TestFileSinkAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iot.log")
	for i, step := range []string{StepTLS, StepPolicy} {
		f, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteEvent(Event{Timestamp: testTime, EventType: EventConnect, ClientID: "dev" + string(rune('1'+i))})
		f.WriteTrace(Trace{Time: testTime, Step: step})
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		f.WriteEvent(Event{EventType: EventDisconnect}) // dropped, no panic
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), b)
	}
	for i, line := range lines {
		e, tr, err := Decode([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if i%2 == 0 {
			if e == nil || e.ClientID != "dev"+string(rune('1'+i/2)) {
				t.Errorf("line %d: %s", i+1, line)
			}
		} else if tr == nil {
			t.Errorf("line %d: %s", i+1, line)
		}
	}
}

func TestOpenFileError(t *testing.T) {
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing", "iot.log")); err == nil {
		t.Error("want an error")
	}
}

func TestFileSinkConcurrentLinesStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iot.log")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := New(f)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				l.Event(Event{EventType: EventPublishIn, TopicName: strings.Repeat("t/", 50)}, nil)
				l.Trace(Trace{Step: StepPublish, Message: strings.Repeat("x", 200)})
			}
		}()
	}
	wg.Wait()
	l.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	for i, line := range lines {
		if _, _, err := Decode([]byte(line)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}
