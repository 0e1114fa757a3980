package clock

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

func TestVirtualRunsTimersInOrderAtTheirTime(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start)
	var order []string
	var seen []time.Duration
	record := func(name string) func() {
		return func() { order = append(order, name); seen = append(seen, v.Now().Sub(start)) }
	}
	v.AfterFunc(300*time.Second, record("refresh"))
	v.AfterFunc(86400*time.Second, record("disconnect"))
	stopped := v.AfterFunc(10*time.Second, record("stopped"))
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	v.Advance(299 * time.Second)
	if len(order) != 0 {
		t.Fatalf("ran %v before their time", order)
	}
	v.Advance(time.Second)
	if len(order) != 1 || order[0] != "refresh" || seen[0] != 300*time.Second {
		t.Fatalf("after 300 s: %v at %v", order, seen)
	}
	v.Advance(86400*time.Second - 301*time.Second)
	if len(order) != 1 {
		t.Fatalf("disconnect ran a second early")
	}
	v.Advance(time.Second)
	if len(order) != 2 || seen[1] != 86400*time.Second {
		t.Fatalf("after 86400 s: %v at %v", order, seen)
	}
	if v.Pending() != 0 {
		t.Fatalf("%d timers left", v.Pending())
	}
}

func TestVirtualRunsTimersSetByTimersWithinTheSameAdvance(t *testing.T) {
	v := NewVirtual(time.Unix(0, 0))
	var n atomic.Int32
	var every func()
	every = func() {
		n.Add(1)
		v.AfterFunc(300*time.Second, every)
	}
	v.AfterFunc(300*time.Second, every)
	v.Advance(1000 * time.Second)
	if n.Load() != 3 {
		t.Fatalf("a 300 s refresh ran %d times in 1000 s, want 3", n.Load())
	}
}

func TestRealClock(t *testing.T) {
	done := make(chan struct{})
	Real{}.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
}

func TestAdjustableRunsTimersInRealTimeAndOnAdvance(t *testing.T) {
	a := NewAdjustable()
	soon := make(chan struct{})
	a.AfterFunc(time.Millisecond, func() { close(soon) })
	<-soon // real time

	var ran atomic.Bool
	a.AfterFunc(time.Hour, func() { ran.Store(true) })
	stopped := a.AfterFunc(2*time.Hour, func() { t.Error("stopped timer ran") })
	stopped.Stop()
	before := a.Now()
	a.Advance(time.Hour)
	if !ran.Load() {
		t.Fatal("an hour-long timer did not run when the clock advanced an hour")
	}
	if a.Now().Sub(before) < time.Hour {
		t.Fatalf("Now moved by %s", a.Now().Sub(before))
	}
	a.Advance(2 * time.Hour)
	if a.Pending() != 0 {
		t.Fatalf("%d timers pending", a.Pending())
	}
}

func TestAdvanceNeverGoesBackwards(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		clock Advancer
	}{
		{"virtual", NewVirtual(start)}, // saturates at Latest
		// saturates where its offset from the wall clock does, about 292 years ahead
		{"adjustable", NewAdjustable()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.clock
			c.Advance(time.Second)
			before := c.Now()
			c.Advance(-time.Hour)
			if c.Now().Before(before) {
				t.Fatalf("a negative advance moved the clock back from %v to %v", before, c.Now())
			}
			// The admin endpoint once turned these into a clock reading 1734.
			for range 3 {
				c.Advance(time.Duration(math.MaxInt64))
				if now := c.Now(); now.Before(before) || now.After(Latest) {
					t.Fatalf("after the largest advance the clock reads %v (from %v)", now, before)
				}
			}
			saturated := c.Now()
			c.Advance(time.Hour)
			if c.Now().Before(saturated) || c.Now().After(Latest) {
				t.Fatalf("an advance past the saturated %v reads %v", saturated, c.Now())
			}
		})
	}
}
