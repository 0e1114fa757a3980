package broker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/internal/gateway"
)

// firing records the entries a timers ran, with the clock's time when each ran.
type firing struct {
	name string
	what timerKind
	at   time.Duration // since the start of the test's clock
}

// newTestTimers returns timers on clk that record what they run, and the record.
func newTestTimers(clk clock.Clock, start time.Time) (*timers, func() []firing) {
	var mu sync.Mutex
	var got []firing
	t := &timers{clock: clk}
	t.run = func(e *timerEntry, what timerKind, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, firing{e.s.ClientID, what, clk.Now().Sub(start)})
	}
	return t, func() []firing {
		mu.Lock()
		defer mu.Unlock()
		return append([]firing(nil), got...)
	}
}

// testEntry returns the refresh timer (refresh) or the disconnect timer of a session named
// name.
func testEntry(name string, refresh bool) *timerEntry {
	s := newSession(&gateway.ConnInfo{})
	s.ClientID = name
	if refresh {
		return &s.refreshTimer
	}
	return &s.disconnectTimer
}

func TestTimersRunInOrderOfDueTimeAtTheirTime(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	tm, got := newTestTimers(clk, start)
	a, b, c, d := testEntry("a", true), testEntry("b", false), testEntry("c", false), testEntry("d", true)
	tm.set(a, start.Add(300*time.Second), timerRefresh)
	tm.set(b, start.Add(100*time.Second), timerDisconnect)
	tm.set(c, start.Add(300*time.Second), timerDisconnect) // same time as a, set later
	tm.set(d, start.Add(200*time.Second), timerRefresh)
	tm.stop(d)
	clk.Advance(299 * time.Second)
	if g := got(); len(g) != 1 || g[0] != (firing{"b", timerDisconnect, 100 * time.Second}) {
		t.Fatalf("after 299 s: %v", g)
	}
	clk.Advance(time.Second)
	want := []firing{{"b", timerDisconnect, 100 * time.Second}, {"a", timerRefresh, 300 * time.Second}, {"c", timerDisconnect, 300 * time.Second}}
	if g := got(); len(g) != len(want) || g[0] != want[0] || g[1] != want[1] || g[2] != want[2] {
		t.Fatalf("after 300 s: %v, want %v", g, want)
	}
	if tm.heap.Len() != 0 || tm.armed != nil {
		t.Fatalf("%d entries left, armed: %v", tm.heap.Len(), tm.armed != nil)
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d clock timers left", clk.Pending())
	}
}

func TestTimersSetAgainReplaces(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	tm, got := newTestTimers(clk, start)
	a, b := testEntry("a", true), testEntry("b", false)
	tm.set(a, start.Add(time.Hour), timerRefresh)
	tm.set(b, start.Add(2*time.Hour), timerDisconnect)
	tm.set(a, start.Add(3*time.Hour), timerIdleRefresh) // later than b now
	tm.set(b, start.Add(time.Minute), timerDisconnect)  // earlier than the clock timer armed
	clk.Advance(4 * time.Hour)
	want := []firing{{"b", timerDisconnect, time.Minute}, {"a", timerIdleRefresh, 3 * time.Hour}}
	if g := got(); len(g) != 2 || g[0] != want[0] || g[1] != want[1] {
		t.Fatalf("got %v, want %v", g, want)
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d clock timers left: a stopped one stays armed", clk.Pending())
	}
}

func TestTimersRunEntriesSetWhileRunning(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	var n atomic.Int32
	tm := &timers{clock: clk}
	tm.run = func(e *timerEntry, what timerKind, at time.Time) {
		n.Add(1)
		tm.set(e, at.Add(300*time.Second), what) // a refresh that asks for the next one
	}
	tm.set(testEntry("a", true), start.Add(300*time.Second), timerRefresh)
	clk.Advance(1000 * time.Second)
	if n.Load() != 3 {
		t.Fatalf("a 300 s refresh ran %d times in 1000 s, want 3", n.Load())
	}
}

func TestTimersOnTheRealClock(t *testing.T) {
	ran := make(chan string, 2)
	tm := &timers{clock: clock.Real{}}
	tm.run = func(e *timerEntry, _ timerKind, _ time.Time) { ran <- e.s.ClientID }
	now := time.Now()
	tm.set(testEntry("later", true), now.Add(2*time.Millisecond), timerRefresh)
	tm.set(testEntry("sooner", false), now.Add(time.Millisecond), timerDisconnect)
	if first, second := <-ran, <-ran; first != "sooner" || second != "later" {
		t.Fatalf("ran %s then %s", first, second)
	}
}

// TestRefreshOfIdleConnectionWaits checks the refresh timer's two steps: a refresh that falls
// due on an idle connection waits for its next packet, or 5 minutes; on a connection that
// sent a packet since the refresh was armed, it happens when due.
func TestRefreshOfIdleConnectionWaits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		packet time.Duration // when the client sends a packet; 0: never
		wait   time.Duration // after the refresh fell due
	}{
		{name: "idle: 5 minutes late", wait: idleRefreshDelay},
		{name: "active: on time", packet: time.Minute},
		{name: "idle, then a packet: at the packet", packet: 7 * time.Minute, wait: 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var calls atomic.Int32
			auth := authFunc(func(req customauth.Request) (*customauth.Result, error) {
				calls.Add(1)
				return &customauth.Result{PrincipalID: "p", ConnectionID: req.ConnectionID, PolicyDocuments: []string{limitedPolicy},
					DisconnectAfter: 24 * time.Hour, RefreshAfter: 5 * time.Minute}, nil
			})
			rc := dialRaw(t, outcomeBroker(t, auth, clk), 4)
			if pk, err := rc.connect(t, "device"); err != nil || pk.ReasonCode != 0 {
				t.Fatalf("connect: %v %v", pk, err)
			}
			ping := func() {
				rc.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
				if pk, err := rc.read(t); err != nil || pk.FixedHeader.Type != packets.Pingresp {
					t.Fatalf("ping: %v %v", pk, err)
				}
			}
			due, elapsed := 5*time.Minute, time.Duration(0)
			if tc.packet > 0 && tc.packet < due {
				clk.Advance(tc.packet)
				ping()
				elapsed = tc.packet
			}
			clk.Advance(due - elapsed)
			if tc.wait == 0 {
				if n := calls.Load(); n != 2 {
					t.Fatalf("the authorizer was called %d times when the refresh fell due, want 2", n)
				}
				return
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("the idle connection's refresh happened when it fell due (%d calls)", n)
			}
			clk.Advance(tc.wait - time.Nanosecond)
			if tc.packet > due {
				ping()
			} else if n := calls.Load(); n != 1 {
				t.Fatalf("the refresh came before the 5 minutes (%d calls)", n)
			} else {
				clk.Advance(time.Nanosecond)
			}
			if n := calls.Load(); n != 2 {
				t.Fatalf("the authorizer was called %d times, want 2", n)
			}
		})
	}
}

// TestTimersTiesKeepTheirOrder checks that entries due at the same time run in the order they
// were set (across the wrap of the counter behind it: see package timeheap's tests).
func TestTimersTiesKeepTheirOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	tm, got := newTestTimers(clk, start)
	for _, name := range []string{"a", "b", "c"} {
		tm.set(testEntry(name, false), start.Add(time.Minute), timerDisconnect)
	}
	clk.Advance(time.Minute)
	if g := got(); len(g) != 3 || g[0].name != "a" || g[1].name != "b" || g[2].name != "c" {
		t.Fatalf("ran %v, want a, b, c", g)
	}
}
