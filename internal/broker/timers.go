package broker

import (
	"sync"
	"time"

	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/internal/timeheap"
)

// timers holds the sessions' refresh and disconnect timers in order of due time and keeps
// one timer of the emulator's clock armed for the earliest. A connection keeps two small
// entries, inside its Session, rather than two timers of its own and their closures: at
// thousands of idle connections that is most of what their timers cost.
//
// Each entry that falls due runs in the clock timer's own goroutine, so entries run as the
// clock runs its timers: concurrently on the real clock, one after the other, in order of
// due time, when a virtual clock advances.
type timers struct {
	clock clock.Clock
	run   func(e *timerEntry, what timerKind, at time.Time) // called for each entry that falls due, with what and when it was set for

	mu      sync.Mutex
	heap    timeheap.Heap[timerEntry, *timerEntry] // entries due at the same time run in the order they were set
	armed   clock.Timer                            // the clock timer for the earliest entry, nil when none is armed
	armedAt time.Time
	gen     uint64 // counts the clock timers armed; a stopped one that runs anyway sees another
}

// timerKind says what an entry was set for.
type timerKind uint8

const (
	timerDisconnect  timerKind = iota // disconnectAfterInSeconds
	timerRefresh                      // refreshAfterInSeconds
	timerIdleRefresh                  // a refresh delayed on an idle connection
)

// timerEntry is one timer of a session: its disconnectTimer (timerDisconnect) or its
// refreshTimer (timerRefresh, or timerIdleRefresh when the session's refreshIdle says so).
type timerEntry struct {
	timeheap.Entry // due on the emulator's clock
	s              *Session
}

// set arms e to fall due at at, for what, replacing what it was armed for.
func (t *timers) set(e *timerEntry, at time.Time, what timerKind) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e == &e.s.refreshTimer {
		e.s.refreshIdle = what == timerIdleRefresh
	}
	t.heap.Add(e, at)
	t.arm()
}

// kind returns what e is set for. t.mu is held.
func (e *timerEntry) kind() timerKind {
	switch {
	case e != &e.s.refreshTimer:
		return timerDisconnect
	case e.s.refreshIdle:
		return timerIdleRefresh
	}
	return timerRefresh
}

// stop disarms the entries that are set.
func (t *timers) stop(entries ...*timerEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range entries {
		t.heap.Remove(e)
	}
	t.arm()
}

// arm points the clock timer at the earliest entry. t.mu is held.
func (t *timers) arm() {
	first, ok := t.heap.Next()
	if ok && t.armed != nil && t.armedAt.Equal(first.At()) {
		return
	}
	if t.armed != nil {
		t.armed.Stop()
		t.armed = nil
	}
	if !ok {
		return
	}
	t.gen++
	gen := t.gen
	t.armedAt = first.At()
	t.armed = t.clock.AfterFunc(t.armedAt.Sub(t.clock.Now()), func() { t.fire(gen) })
}

// fire runs the earliest entry, if it is due, after arming the clock timer for the next one:
// the entry runs in this goroutine, the next in the next clock timer's.
func (t *timers) fire(gen uint64) {
	t.mu.Lock()
	if gen != t.gen { // stopped as it fell due: another clock timer is armed
		t.mu.Unlock()
		return
	}
	t.armed = nil
	var what timerKind // as set: a refresh may set the entry again as it runs
	var at time.Time
	due, ok := t.heap.PopDue(t.clock.Now())
	if ok {
		what, at = due.kind(), due.At()
	}
	t.arm()
	t.mu.Unlock()
	if ok {
		t.run(due, what, at)
	}
}
