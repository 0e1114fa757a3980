package clock

import (
	"container/heap"
	"sync"
	"time"
)

// queue holds timers in order of due time; Virtual and Adjustable share it.
type queue struct {
	mu     sync.Mutex
	timers timerHeap
	seq    uint64
}

// add schedules f at at and returns its timer.
func (q *queue) add(at time.Time, f func()) *timer {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	t := &timer{q: q, at: at, seq: q.seq, f: f, index: -1}
	heap.Push(&q.timers, t)
	return t
}

// popDue removes and returns the earliest timer due at or before now, if any.
func (q *queue) popDue(now time.Time) (*timer, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.timers) == 0 || q.timers[0].at.After(now) {
		return nil, false
	}
	return heap.Pop(&q.timers).(*timer), true
}

// next returns the due time of the earliest timer.
func (q *queue) next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.timers) == 0 {
		return time.Time{}, false
	}
	return q.timers[0].at, true
}

// Pending returns how many timers are waiting.
func (q *queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.timers)
}

// runAll runs each timer due at or before now(), in order of due time, waiting for each call;
// before each call, at(t) is told the timer's due time. Timers added by the calls run too if due.
func (q *queue) runAll(now func() time.Time, at func(time.Time)) {
	for {
		t, ok := q.popDue(now())
		if !ok {
			return
		}
		at(t.at)
		done := make(chan struct{})
		go func() { // AfterFunc's contract: f runs in its own goroutine
			defer close(done)
			t.f()
		}()
		<-done
	}
}

type timer struct {
	q     *queue
	at    time.Time
	seq   uint64 // ties broken in order of creation
	f     func()
	index int // in the heap; -1 when not scheduled
}

// Stop prevents the call if it has not happened yet and reports whether it did so.
func (t *timer) Stop() bool {
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&q.timers, t.index)
	return true
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
