package iotlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestMemoryStoresCopies(t *testing.T) {
	m := NewMemory()
	m.WriteEvent(Event{ClientID: "a"})
	m.WriteTrace(Trace{ConnectionID: "c-1", Step: StepTLS})
	m.WriteTrace(Trace{ConnectionID: "c-2", Step: StepTLS})
	m.WriteTrace(Trace{ConnectionID: "c-1", Step: StepPolicy})

	ev := m.Events()
	ev[0].ClientID = "changed"
	if m.Events()[0].ClientID != "a" {
		t.Error("Events returned the stored slice")
	}
	tr := m.Traces()
	tr[0].Step = "changed"
	if m.Traces()[0].Step != StepTLS {
		t.Error("Traces returned the stored slice")
	}
	got := m.TracesFor("c-1")
	if len(got) != 2 || got[0].Step != StepTLS || got[1].Step != StepPolicy {
		t.Errorf("TracesFor: %+v", got)
	}
	if got := m.TracesFor("none"); len(got) != 0 {
		t.Errorf("TracesFor(none): %+v", got)
	}
}

func TestMemoryWaitEventPast(t *testing.T) {
	m := NewMemory()
	m.WriteEvent(Event{EventType: EventConnect, Status: StatusSuccess, ClientID: "first"})
	m.WriteEvent(Event{EventType: EventConnect, Status: StatusSuccess, ClientID: "second"})
	e, err := m.WaitEvent(context.Background(), Match(EventConnect, StatusSuccess))
	if err != nil || e.ClientID != "first" {
		t.Errorf("got %+v, %v", e, err)
	}
}

func TestMemoryWaitEventFuture(t *testing.T) {
	m := NewMemory()
	m.WriteEvent(Event{EventType: EventConnect, Status: StatusSuccess})
	done := make(chan Event)
	go func() {
		e, err := m.WaitEvent(context.Background(), Match(EventDisconnect, ""))
		if err != nil {
			t.Error(err)
		}
		done <- e
	}()
	// Events that do not match wake the waiter but do not end the wait.
	m.WriteEvent(Event{EventType: EventSubscribe})
	m.WriteTrace(Trace{})
	m.WriteEvent(Event{EventType: EventDisconnect, DisconnectReason: DisconnectClientInitiated})
	select {
	case e := <-done:
		if e.DisconnectReason != DisconnectClientInitiated {
			t.Errorf("got %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitEvent did not return")
	}
}

func TestMemoryWaitEventCancel(t *testing.T) {
	m := NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := m.WaitEvent(ctx, Match(EventConnect, ""))
		errc <- err
	}()
	m.WriteEvent(Event{EventType: EventSubscribe})
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitEvent did not return")
	}
}

func TestMemoryReset(t *testing.T) {
	var m Memory // the zero value works
	m.WriteEvent(Event{EventType: EventConnect, ClientID: "old"})
	m.WriteTrace(Trace{})
	m.Reset()
	if len(m.Events()) != 0 || len(m.Traces()) != 0 {
		t.Fatal("Reset kept records")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go m.WriteEvent(Event{EventType: EventConnect, ClientID: "new"})
	e, err := m.WaitEvent(ctx, Match(EventConnect, ""))
	if err != nil || e.ClientID != "new" {
		t.Errorf("got %+v, %v", e, err)
	}
}

func TestMemoryWaitAcrossReset(t *testing.T) {
	m := NewMemory()
	m.WriteEvent(Event{EventType: EventSubscribe})
	m.WriteEvent(Event{EventType: EventSubscribe})
	got := make(chan Event)
	go func() {
		e, err := m.WaitEvent(context.Background(), Match(EventConnect, ""))
		if err != nil {
			t.Error(err)
		}
		got <- e
	}()
	// Whether the waiter sees the Reset or not, it must find the one
	// Connect stored after it, at index 0.
	m.Reset()
	m.WriteEvent(Event{EventType: EventConnect, ClientID: "after"})
	select {
	case e := <-got:
		if e.ClientID != "after" {
			t.Errorf("got %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitEvent missed the event stored after Reset")
	}
}

func TestMemoryConcurrentWaiters(t *testing.T) {
	m := NewMemory()
	const waiters = 20
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := i % 5
			e, err := m.WaitEvent(context.Background(), func(e Event) bool { return e.SourcePort == want })
			if err != nil || e.SourcePort != want {
				t.Errorf("waiter %d: %+v %v", i, e, err)
			}
		}()
	}
	for p := range 5 {
		m.WriteEvent(Event{SourcePort: p})
		_ = m.Events()
		_ = m.TracesFor("x")
	}
	wg.Wait()
}

func TestMemoryKeepsTheNewestWithinItsBytes(t *testing.T) {
	const limit = 1 << 20
	m := NewMemoryBytes(limit)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		// Random strings: Memory keeps no two of them in fewer bytes than their length.
		m.WriteEvent(Event{ClientID: fmt.Sprint(i), Details: randomString(rnd, MaxFieldLen), TopicName: randomString(rnd, MaxFieldLen)})
		m.WriteTrace(Trace{ClientID: fmt.Sprint(i), Message: randomString(rnd, MaxFieldLen)})
		m.WriteFunctionLine(FunctionLine{Message: randomString(rnd, MaxFieldLen)})
		if b := m.Bytes(); b > limit {
			t.Fatalf("after %d records the memory holds %d bytes, limit %d", i, b, limit)
		}
	}
	evs, trs := m.Events(), m.Traces()
	if len(evs) == 0 || len(evs) >= 20000 || evs[len(evs)-1].ClientID != "19999" || len(trs) >= 20000 {
		t.Fatalf("kept %d events (last %q) and %d traces", len(evs), evs[len(evs)-1].ClientID, len(trs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := m.WaitEvent(ctx, func(e Event) bool { return e.ClientID == "19999" })
	if err != nil || e.ClientID != "19999" {
		t.Fatalf("WaitEvent after trimming: %v, %v", e, err)
	}
	go m.WriteEvent(Event{ClientID: "20000"})
	if e, err := m.WaitEvent(ctx, func(e Event) bool { return e.ClientID == "20000" }); err != nil || e.ClientID != "20000" {
		t.Fatalf("WaitEvent for a future event: %v, %v", e, err)
	}
}

func TestMemoryEventsSince(t *testing.T) {
	m := NewMemory()
	m.WriteEvent(Event{ClientID: "a"})
	got, next := m.EventsSince(0)
	if len(got) != 1 || next != 1 {
		t.Fatalf("first read: %v, next %d", got, next)
	}
	m.WriteEvent(Event{ClientID: "b"})
	m.WriteEvent(Event{ClientID: "c"})
	got, next = m.EventsSince(next)
	if len(got) != 2 || got[0].ClientID != "b" || next != 3 {
		t.Fatalf("second read: %v, next %d", got, next)
	}
	m.Reset()
	m.WriteEvent(Event{ClientID: "d"})
	got, next = m.EventsSince(next)
	if len(got) != 1 || got[0].ClientID != "d" || next != 4 {
		t.Fatalf("read after Reset: %v, next %d", got, next)
	}
}

// randomString returns n random letters.
func randomString(rnd *rand.Rand, n int) string {
	b := make([]byte, n)
	var v uint64
	for i := range b {
		if i%8 == 0 {
			v = rnd.Uint64()
		}
		b[i] = 'a' + byte(v%26)
		v >>= 8
	}
	return string(b)
}

// TestMemoryEventsBefore pages newest first across segments and after the oldest are
// forgotten.
func TestMemoryEventsBefore(t *testing.T) {
	m := NewMemoryBytes(1 << 20)
	rnd := rand.New(rand.NewPCG(1, 2))
	const n, back = 5000, 100 // the newest 100 events are in more than one segment
	for i := range n {
		m.WriteEvent(Event{ClientID: fmt.Sprint(i), Details: randomString(rnd, MaxFieldLen)})
	}
	var page []string
	first, end := m.EventsBefore(n-back-1, func(pos uint64, e Event) bool {
		if e.ClientID != fmt.Sprint(pos) {
			t.Fatalf("event at %d is %q", pos, e.ClientID)
		}
		page = append(page, e.ClientID)
		return len(page) < 3
	})
	if end != n || first == 0 || first >= n {
		t.Fatalf("first %d, end %d: want some forgotten and %d next", first, end, n)
	}
	if want := []string{fmt.Sprint(n - back - 2), fmt.Sprint(n - back - 3), fmt.Sprint(n - back - 4)}; !slices.Equal(page, want) {
		t.Fatalf("page = %v, want %v", page, want)
	}
	count := 0
	m.EventsBefore(end, func(uint64, Event) bool { count++; return true })
	if count != int(end-first) {
		t.Fatalf("a full scan saw %d events, the store holds %d", count, end-first)
	}
}

// Memory stores events and traces compactly; what it gives back equals what was written,
// times in their location without their monotonic clock reading, Data values with their
// types, whether or not consecutive traces share their identity.
func TestMemoryGivesBackWhatWasWritten(t *testing.T) {
	m := NewMemory()
	mono := time.Now()
	now := mono.Round(0) // what comes back of mono
	zone := time.FixedZone("X", 3600)
	events := []Event{
		{Timestamp: now, LogLevel: LevelInfo, TraceID: "t1", AccountID: "123456789012", Status: StatusSuccess, EventType: EventConnect,
			Protocol: ProtocolMQTT, ClientID: "dev", PrincipalID: "p", SourceIP: "127.0.0.1", SourcePort: 40000, ConnectionID: "c1"},
		{Timestamp: now.UTC(), LogLevel: LevelError, EventType: EventPublishIn, TopicName: "a/b", Retain: true, DestinationIP: "10.0.0.1",
			DestinationPort: 443, AuthenticationType: AuthenticationTypeCustomAuth, ServerName: "sni", Reason: "r", Details: "d", DisconnectReason: "x"},
		{Timestamp: now.In(zone).Add(-time.Hour), SourcePort: -1, ClientID: "dev"},
		{},
	}
	long := `{"token":"abc","protocolData":{"mqtt":{"clientId":"dev-1"}},"connectionMetadata":{"id":"c1"}}`
	traces := []Trace{
		{Time: now, TraceID: "t1", ConnectionID: "c1", ClientID: "dev", Step: StepAuthorizer, Message: "m1",
			Data: map[string]any{"authorizer": "A", "signingDisabled": false, "n": 3, "event": json.RawMessage(`{"a":1}`), "list": []string{"x"},
				"big": int64(-1 << 40), "ratio": 0.5, "raw": []byte("xyz"), "none": nil, "empty": json.RawMessage{}, "emptyBytes": []byte(nil), "yes": true}},
		{Time: now, TraceID: "t1", ConnectionID: "c1", ClientID: "dev", Step: StepSignature, Message: "m2"},
		{Time: now.In(zone), TraceID: "t1", ConnectionID: "c2", ClientID: "dev", Step: StepSignature, Message: ""},
		{Step: StepLog},
		{Time: now, Step: "event", Message: "event sent to arn:aws:lambda:us-east-1:123456789012:function:one", Data: map[string]any{"event": json.RawMessage(long)}},
		{Time: now, Step: "event", Message: "event sent to arn:aws:lambda:us-east-1:123456789012:function:two",
			Data: map[string]any{"event": json.RawMessage(strings.ReplaceAll(long, "1", "22"))}},
		{Time: now, Step: "event", Message: "something else entirely, long enough to be a difference",
			Data: map[string]any{"event": json.RawMessage(`{"` + strings.Repeat("0123456789", 10) + `":1}`)}},
	}
	for _, e := range events {
		if e.Timestamp == now {
			e.Timestamp = mono
		}
		m.WriteEvent(e)
	}
	for _, tr := range traces {
		if tr.Time == now {
			tr.Time = mono
		}
		m.WriteTrace(tr)
	}
	if got := m.Events(); !reflect.DeepEqual(got, events) {
		t.Errorf("events\n got %+v\nwant %+v", got, events)
	}
	if got := m.Traces(); !reflect.DeepEqual(got, traces) {
		t.Errorf("traces\n got %+v\nwant %+v", got, traces)
	}
	if got := m.TracesFor("c2"); len(got) != 1 || !reflect.DeepEqual(got[0], traces[2]) {
		t.Errorf("traces of c2: %+v", got)
	}
}

// Records that differ a little from one another (the traces and function lines of many
// connects) are kept in a fraction of their length, across segments, and come back as they
// were written.
func TestMemoryKeepsSimilarRecordsCompactly(t *testing.T) {
	m := NewMemoryBytes(8 << 20)
	rnd := rand.New(rand.NewPCG(3, 4))
	var traces []Trace
	var lines []FunctionLine
	literal := 0
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range 5000 {
		id := fmt.Sprintf("17bc890c-ac5c-4770-8000-%012x", i)
		client := "dev-" + fmt.Sprint(rnd.IntN(100000))
		at := start.Add(time.Duration(i) * time.Millisecond)
		event := `{"token":"<redacted>","signatureVerified":true,"protocols":["tls","mqtt"],"protocolData":{"mqtt":{"clientId":"` +
			client + `","username":"bench?x-amz-customauthorizer-name=BenchAuth"}},"connectionMetadata":{"id":"` + id + `"}}`
		tr := []Trace{
			{Time: at, TraceID: id, ConnectionID: id, ClientID: client, Step: "event", Message: "event sent to arn:aws:lambda:us-east-1:123456789012:function:auth",
				Data: map[string]any{"event": json.RawMessage(event)}},
			{Time: at, TraceID: id, ConnectionID: id, ClientID: client, Step: StepConnect,
				Message: "allowed by policyDocuments[0] statement 0 (Allow iot:Connect on arn:aws:iot:us-east-1:123456789012:client/" + client + ")",
				Data:    map[string]any{"resource": "arn:aws:iot:us-east-1:123456789012:client/" + client, "statement": 0, "allowed": true}},
		}
		ln := []FunctionLine{
			{Time: at, LogGroup: "/aws/lambda/auth", RequestID: id, Message: "START RequestId: " + id + " Version: $LATEST"},
			{Time: at, LogGroup: "/aws/lambda/auth", RequestID: id, Message: "END RequestId: " + id},
			{Time: at, LogGroup: "/aws/lambda/auth", RequestID: id, Message: "REPORT RequestId: " + id + "\tDuration: 0.20 ms"},
		}
		for _, x := range tr {
			m.WriteTrace(x)
			literal += len(x.TraceID) + len(x.ConnectionID) + len(x.ClientID) + len(x.Step) + len(x.Message) + len(event)
		}
		for _, x := range ln {
			m.WriteFunctionLine(x)
			literal += len(x.LogGroup) + len(x.RequestID) + len(x.Message)
		}
		traces, lines = append(traces, tr...), append(lines, ln...)
	}
	if got := m.Traces(); !reflect.DeepEqual(got, traces) {
		t.Fatalf("%d traces came back, %d written, not equal", len(got), len(traces))
	}
	if got := m.FunctionLines(""); !reflect.DeepEqual(got, lines) {
		t.Fatalf("%d lines came back, %d written, not equal", len(got), len(lines))
	}
	for _, i := range []int{0, 1, 2500, 4999} {
		id := traces[2*i].ConnectionID
		if got := m.TracesFor(id); !reflect.DeepEqual(got, traces[2*i:2*i+2]) {
			t.Errorf("TracesFor(%s) = %+v", id, got)
		}
		if got := m.FunctionLines(id); !reflect.DeepEqual(got, lines[3*i:3*i+3]) {
			t.Errorf("FunctionLines(%s) = %+v", id, got)
		}
	}
	if none := fmt.Sprintf("17bc890c-ac5c-4770-8000-%012x", 5000); len(m.TracesFor(none)) != 0 || len(m.FunctionLines(none)) != 0 {
		t.Errorf("records of %s, which wrote none", none)
	}
	if len(m.traces.segs) < 2 || len(m.lines.segs) < 2 {
		t.Fatalf("the records fill %d and %d segments: want more than one each", len(m.traces.segs), len(m.lines.segs))
	}
	if b := m.Bytes(); b > int64(literal)/3 {
		t.Errorf("Memory holds %d bytes for %d bytes of strings", b, literal)
	}
}

// Equal long JSON values of traces' Data, such as the same authorizer answer for many
// devices, are kept once.
func TestMemorySharesEqualLongValues(t *testing.T) {
	m := NewMemory()
	answer := `{"isAuthenticated":true,"policyDocuments":["` + strings.Repeat("x", 256) + `"]}`
	for _, id := range []string{"c1", "c2"} {
		m.WriteTrace(Trace{ConnectionID: id, Step: StepInvoke, Data: map[string]any{"response": json.RawMessage(answer)}})
	}
	tr := m.Traces()
	a, b := tr[0].Data["response"].(json.RawMessage), tr[1].Data["response"].(json.RawMessage)
	if string(a) != answer || string(b) != answer || unsafe.SliceData(a) != unsafe.SliceData(b) {
		t.Errorf("responses %q and %q are not one copy of the answer", a, b)
	}
}

// Whatever the strings (similar or not, short or long, some larger than a segment) and
// however small the budget, what comes back is what was written, and reading by connection
// finds the same traces as filtering them all.
func TestMemoryRoundTripsRandomRecords(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	bases := []string{randomString(rnd, 40), randomString(rnd, 300), randomString(rnd, 5000), "é€😀" + randomString(rnd, 60)}
	// edit returns s with a few random bytes replaced, inserted or deleted.
	edit := func(s string) string {
		b := []byte(s)
		for range rnd.IntN(4) {
			i := rnd.IntN(len(b) + 1)
			switch rnd.IntN(3) {
			case 0:
				if i < len(b) {
					b[i] = byte(rnd.IntN(256))
				}
			case 1:
				b = append(b[:i], append([]byte(randomString(rnd, 1+rnd.IntN(8))), b[i:]...)...)
			case 2:
				if i < len(b) {
					b = append(b[:i], b[min(len(b), i+1+rnd.IntN(8)):]...)
				}
			}
		}
		return string(b)
	}
	text := func() string {
		switch rnd.IntN(5) {
		case 0:
			return ""
		case 1:
			return randomString(rnd, rnd.IntN(100))
		case 2:
			return bases[rnd.IntN(len(bases))]
		default:
			return edit(bases[rnd.IntN(len(bases))])
		}
	}
	for _, limit := range []int64{4 << 10, 1 << 20, 64 << 20} {
		m := NewMemoryBytes(limit)
		var traces []Trace
		var events []Event
		for i := range 3000 {
			tr := Trace{Time: time.Unix(int64(rnd.IntN(1<<40)), int64(rnd.IntN(1e9))), TraceID: text(), ConnectionID: fmt.Sprintf("conn-%036d", rnd.IntN(20)),
				ClientID: text(), Step: fmt.Sprint("step", rnd.IntN(3)), Message: text(),
				Data: map[string]any{"a": text(), "b": json.RawMessage(`"` + text() + `"`), "n": rnd.IntN(1000) - 500}}
			if i%500 == 0 {
				tr.Data["huge"] = strings.Repeat(edit(bases[2]), 20) // larger than a segment
			}
			m.WriteTrace(tr)
			ev := Event{Timestamp: tr.Time.UTC(), TraceID: tr.TraceID, ConnectionID: tr.ConnectionID, ClientID: tr.ClientID, Details: text(), SourcePort: rnd.IntN(65536)}
			m.WriteEvent(ev)
			traces, events = append(traces, tr), append(events, ev)
		}
		if b := m.Bytes(); b > limit+(200<<10) { // a huge record takes a segment of its own
			t.Errorf("limit %d: %d bytes held", limit, b)
		}
		got := m.Traces()
		if len(got) == 0 || !reflect.DeepEqual(got, traces[len(traces)-len(got):]) {
			t.Fatalf("limit %d: the %d traces kept are not the last ones written", limit, len(got))
		}
		if evs := m.Events(); len(evs) == 0 || !reflect.DeepEqual(evs, events[len(events)-len(evs):]) {
			t.Fatalf("limit %d: the %d events kept are not the last ones written", limit, len(evs))
		}
		conn := got[len(got)-1].ConnectionID
		var want []Trace
		for _, tr := range got {
			if tr.ConnectionID == conn {
				want = append(want, tr)
			}
		}
		if got := m.TracesFor(conn); !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: TracesFor(%s) gave %d traces, want %d", limit, conn, len(got), len(want))
		}
	}
}

// A delivery's event differs from the last one by its trace ID, made by a counter: most of
// the ID is kept once per segment.
func TestMemoryKeepsCounterIDsOnce(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	used := func(m *Memory) int {
		n := 0
		for _, s := range m.events.segs {
			n += len(s.data)
		}
		return n
	}
	counted, random := NewMemory(), NewMemory()
	e := Event{Timestamp: time.Now(), LogLevel: LevelInfo, AccountID: "123456789012", Status: StatusSuccess, EventType: EventPublishOut,
		Protocol: ProtocolMQTT, TopicName: "demo/42", ClientID: "dev1", PrincipalID: "p", SourceIP: "127.0.0.1", SourcePort: 5000,
		ConnectionID: NewTraceID()}
	const n = 1000
	ids := make([]string, n)
	for i := range ids {
		e.TraceID = NewTraceID()
		ids[i] = e.TraceID
		counted.WriteEvent(e)
		e.TraceID = randomString(rnd, len(e.TraceID))
		random.WriteEvent(e)
	}
	if c, r := used(counted), used(random); c > r-n*(len(e.TraceID)-12) {
		t.Errorf("%d events with counter IDs take %d bytes, with random IDs %d", n, c, r)
	}
	for i, got := range counted.Events() {
		if got.TraceID != ids[i] {
			t.Fatalf("event %d has trace ID %s, want %s", i, got.TraceID, ids[i])
		}
	}
}
