package iotlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
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

func TestMemoryLimitKeepsTheNewest(t *testing.T) {
	m := NewMemoryLimit(3)
	for i := range 10 {
		m.WriteEvent(Event{ClientID: fmt.Sprint(i)})
		m.WriteTrace(Trace{ClientID: fmt.Sprint(i)})
	}
	evs, trs := m.Events(), m.Traces()
	if len(evs) > 6 || evs[len(evs)-1].ClientID != "9" || len(trs) > 6 {
		t.Fatalf("kept %d events (last %q) and %d traces", len(evs), evs[len(evs)-1].ClientID, len(trs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e, err := m.WaitEvent(ctx, func(e Event) bool { return e.ClientID == "9" })
	if err != nil || e.ClientID != "9" {
		t.Fatalf("WaitEvent after trimming: %v, %v", e, err)
	}
	go m.WriteEvent(Event{ClientID: "10"})
	if e, err := m.WaitEvent(ctx, func(e Event) bool { return e.ClientID == "10" }); err != nil || e.ClientID != "10" {
		t.Fatalf("WaitEvent for a future event: %v, %v", e, err)
	}
}
