package clock

import (
	"sync"
	"time"

	"github.com/iotemu/iotemu/internal/timeheap"
)

// queue holds timers in order of due time, timers due at the same time in order of creation;
// Virtual and Adjustable share it.
type queue struct {
	mu     sync.Mutex
	timers timeheap.Heap[timer, *timer]
}

// add schedules f at at and returns its timer.
func (q *queue) add(at time.Time, f func()) *timer {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := &timer{q: q, f: f}
	q.timers.Add(t, at)
	return t
}

// popDue removes and returns the earliest timer due at or before now, if any.
func (q *queue) popDue(now time.Time) (*timer, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.timers.PopDue(now)
}

// next returns the due time of the earliest timer.
func (q *queue) next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t, ok := q.timers.Next()
	if !ok {
		return time.Time{}, false
	}
	return t.At(), true
}

// Pending returns how many timers are waiting.
func (q *queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.timers.Len()
}

// runAll runs each timer due at or before now(), in order of due time, waiting for each call;
// before each call, at(t) is told the timer's due time. Timers added by the calls run too if due.
func (q *queue) runAll(now func() time.Time, at func(time.Time)) {
	for {
		t, ok := q.popDue(now())
		if !ok {
			return
		}
		at(t.At())
		done := make(chan struct{})
		go func() { // AfterFunc's contract: f runs in its own goroutine
			defer close(done)
			t.f()
		}()
		<-done
	}
}

type timer struct {
	timeheap.Entry
	q *queue
	f func()
}

// Stop prevents the call if it has not happened yet and reports whether it did so.
func (t *timer) Stop() bool {
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.timers.Remove(t)
}
