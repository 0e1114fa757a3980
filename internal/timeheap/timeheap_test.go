package timeheap

import (
	"math"
	"testing"
	"time"
)

type item struct {
	name string
	Entry
}

func newHeap() Heap[item, *item] { return Heap[item, *item]{} }

// drain pops every item due at or before now, in order, and returns their names.
func drain(h *Heap[item, *item], now time.Time) []string {
	var names []string
	for {
		x, ok := h.PopDue(now)
		if !ok {
			return names
		}
		names = append(names, x.name)
	}
}

func same(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestOrderAndTies(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHeap()
	items := map[string]*item{}
	for _, s := range []struct {
		name string
		at   time.Duration
	}{{"late", 3 * time.Minute}, {"tie1", time.Minute}, {"early", time.Second}, {"tie2", time.Minute}, {"tie3", time.Minute}} {
		x := &item{name: s.name}
		items[s.name] = x
		h.Add(x, start.Add(s.at))
	}
	if got := drain(&h, start); len(got) != 0 {
		t.Fatalf("due at the start: %v", got)
	}
	if x, ok := h.Next(); !ok || x.name != "early" {
		t.Fatalf("Next = %v, %v; want early", x, ok)
	}
	if !h.Remove(items["tie2"]) || h.Remove(items["tie2"]) {
		t.Fatal("Remove of an item in the heap, then of one in none")
	}
	h.Add(items["tie1"], start.Add(time.Minute)) // moves behind tie3
	if got := drain(&h, start.Add(time.Minute)); !same(got, "early", "tie3", "tie1") {
		t.Fatalf("due after a minute: %v", got)
	}
	if h.Len() != 1 || items["late"].At() != start.Add(3*time.Minute) {
		t.Fatalf("left %d items; late due at %v", h.Len(), items["late"].At())
	}
	if h.Remove(items["tie1"]) {
		t.Fatal("a popped item was still in the heap")
	}
}

func TestTiesKeepTheirOrderAcrossTheCounterWrap(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHeap()
	h.items.seq = math.MaxUint32 - 1
	for _, name := range []string{"a", "b", "c"} { // seq MaxUint32, 0, 1
		h.Add(&item{name: name}, at)
	}
	if got := drain(&h, at); !same(got, "a", "b", "c") {
		t.Fatalf("ran %v, want a, b, c", got)
	}
}
