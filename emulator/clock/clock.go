// Package clock is the emulator's one source of time for every timer (authorizer refresh,
// disconnectAfterInSeconds, HTTP answer caching): the real clock, a virtual one for tests and
// scenarios, or the real clock made advanceable for a running server, so that what happens
// hours into a connection is tested in milliseconds.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Advancer is a clock that can be moved forward.
type Advancer interface {
	Clock
	// Advance moves the clock forward by d and returns once every timer that fell due has run.
	// A clock never goes backwards: a negative d moves it by nothing, and no Advance moves
	// it past Latest.
	Advance(d time.Duration)
}

// Latest is the last instant an advanceable clock reads (Adjustable stops earlier, about 292
// years ahead of the wall clock, where its offset saturates): the end of year 9999, the last time
// RFC 3339 (and so JSON, and AWS's log timestamps) can write. Advances saturate there.
var Latest = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)

// forward returns now moved forward by d, never before now and never after Latest.
func forward(now time.Time, d time.Duration) time.Time {
	if d <= 0 || !now.Before(Latest) {
		return now
	}
	if room := Latest.Sub(now); d >= room { // Sub saturates at the largest Duration
		return Latest
	}
	return now.Add(d)
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet and reports whether it did so.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Virtual is a clock that moves only when told to. Use NewVirtual.
type Virtual struct {
	queue
	mu  sync.Mutex // guards now; Advance calls are serialised by adv
	adv sync.Mutex
	now time.Time
}

// NewVirtual returns a virtual clock reading start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// AfterFunc schedules f at Now()+d. A d <= 0 runs f at the next Advance (of any length,
// including 0).
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer { return v.add(v.Now().Add(d), f) }

// Advance moves the clock forward by d, running every timer that falls due, in order of due
// time, each with the clock reading its due time. It returns when every call has returned.
// Timers set by those calls are run too if they fall due within d. A negative d moves the
// clock by nothing; the clock stops at Latest.
func (v *Virtual) Advance(d time.Duration) {
	v.adv.Lock()
	defer v.adv.Unlock()
	end := forward(v.Now(), d)
	v.runAll(func() time.Time { return end }, func(at time.Time) {
		v.mu.Lock()
		if at.After(v.now) {
			v.now = at
		}
		v.mu.Unlock()
	})
	v.mu.Lock()
	v.now = end
	v.mu.Unlock()
}

// Adjustable is the real clock plus an offset that Advance increases: a running emulator
// keeps real time, and an operator (or a black-box test) can jump it forward to make a
// refresh or a disconnectAfterInSeconds happen now. Use NewAdjustable.
type Adjustable struct {
	queue
	mu   sync.Mutex
	skew time.Duration
	real *time.Timer // fires at the earliest timer's due time
	adv  sync.Mutex
}

// NewAdjustable returns the real clock, advanceable.
func NewAdjustable() *Adjustable { return &Adjustable{} }

// Now returns the wall clock plus every Advance so far.
func (a *Adjustable) Now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now := time.Now().Add(a.skew); now.Before(Latest) {
		return now
	}
	return Latest
}

// AfterFunc calls f once d has passed on this clock, in real time or through Advance.
func (a *Adjustable) AfterFunc(d time.Duration, f func()) Timer {
	t := a.add(a.Now().Add(d), f)
	a.rearm()
	return t
}

// rearm points the real timer at the earliest pending timer.
func (a *Adjustable) rearm() {
	at, ok := a.next()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.real != nil {
		a.real.Stop()
		a.real = nil
	}
	if ok {
		a.real = time.AfterFunc(at.Sub(time.Now().Add(a.skew)), func() { go a.fire() })
	}
}

// fire runs the timers that are due; each runs in its own goroutine without waiting, as real
// timers do.
func (a *Adjustable) fire() {
	for {
		t, ok := a.popDue(a.Now())
		if !ok {
			break
		}
		go t.f()
	}
	a.rearm()
}

// Advance moves the clock forward by d and runs every timer that falls due, in order, waiting
// for each. Like Virtual's, it never moves the clock backwards or past Latest.
func (a *Adjustable) Advance(d time.Duration) {
	a.adv.Lock()
	defer a.adv.Unlock()
	a.mu.Lock()
	now := time.Now()
	a.skew = forward(now.Add(a.skew), d).Sub(now)
	a.mu.Unlock()
	a.runAll(a.Now, func(time.Time) {})
	a.rearm()
}
