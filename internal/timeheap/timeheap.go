// Package timeheap orders items by the time they fall due, items due at the same time in the
// order they were added. The emulator's virtual clocks keep their timers in one, and the broker
// its sessions' refresh and disconnect timers.
package timeheap

import (
	"container/heap"
	"time"
)

// Entry is what a Heap keeps of an item: the item embeds it, so that adding an item to a Heap
// allocates nothing. The zero value is an entry in no heap.
type Entry struct {
	at    time.Time
	seq   uint32 // the order of adding among entries due at the same time; it may wrap
	index int32  // 1 + the position in the heap; 0 when in none
}

// At returns when the entry falls due, as last added.
func (e *Entry) At() time.Time { return e.at }

// HeapEntry returns e; an item that embeds an Entry has it.
func (e *Entry) HeapEntry() *Entry { return e }

// Item is a pointer to an item that embeds an Entry.
type Item[T any] interface {
	*T
	HeapEntry() *Entry
}

// Heap holds items of type P (a *T that embeds an Entry) by due time. A Heap is not safe for
// concurrent use. The zero value is an empty Heap.
type Heap[T any, P Item[T]] struct {
	items items[T, P]
}

// Len returns the number of items in h.
func (h *Heap[T, P]) Len() int { return len(h.items.list) }

// Add puts x in h, due at at, after the items already due then. An x already in h moves.
func (h *Heap[T, P]) Add(x P, at time.Time) {
	h.Remove(x)
	e := x.HeapEntry()
	h.items.seq++
	e.at, e.seq = at, h.items.seq
	heap.Push(&h.items, x)
}

// Remove takes x out of h and reports whether it was in h.
func (h *Heap[T, P]) Remove(x P) bool {
	e := x.HeapEntry()
	if e.index == 0 {
		return false
	}
	heap.Remove(&h.items, int(e.index-1))
	return true
}

// Next returns the item that falls due first, without taking it out.
func (h *Heap[T, P]) Next() (P, bool) {
	if len(h.items.list) == 0 {
		return nil, false
	}
	return h.items.list[0], true
}

// PopDue takes out and returns the item that falls due first, if it is due at or before now.
func (h *Heap[T, P]) PopDue(now time.Time) (P, bool) {
	x, ok := h.Next()
	if !ok || x.HeapEntry().at.After(now) {
		return nil, false
	}
	return heap.Pop(&h.items).(P), true
}

// items is the container/heap side of a Heap.
type items[T any, P Item[T]] struct {
	list []P
	seq  uint32
}

func (s *items[T, P]) Len() int { return len(s.list) }
func (s *items[T, P]) Less(i, j int) bool {
	a, b := s.list[i].HeapEntry(), s.list[j].HeapEntry()
	if a.at.Equal(b.at) {
		return int32(a.seq-b.seq) < 0 // serial-number order, so that the counter may wrap
	}
	return a.at.Before(b.at)
}
func (s *items[T, P]) Swap(i, j int) {
	s.list[i], s.list[j] = s.list[j], s.list[i]
	s.list[i].HeapEntry().index, s.list[j].HeapEntry().index = int32(i+1), int32(j+1)
}
func (s *items[T, P]) Push(x any) {
	t := x.(P)
	s.list = append(s.list, t)
	t.HeapEntry().index = int32(len(s.list))
}
func (s *items[T, P]) Pop() any {
	last := len(s.list) - 1
	t := s.list[last]
	s.list[last] = nil
	s.list = s.list[:last]
	t.HeapEntry().index = 0
	return t
}
