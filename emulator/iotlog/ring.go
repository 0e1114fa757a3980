package iotlog

// segmentLen is the number of records in one segment of a ring.
const segmentLen = 256

// segment is a fixed-size block of records; it is allocated once and never grown.
type segment[T any] struct {
	items []T // len grows to segmentLen, cap is segmentLen from the start
	bytes int64
}

// ring keeps the newest records within a byte budget, in segments: appending never copies
// what is stored, and forgetting the oldest records frees a whole segment at once. A segment
// closes at segmentLen records or at an eighth of the budget, so the ring holds at most its
// budget plus one eighth of it (plus one record). Positions
// are absolute: the first record ever stored is 0, and a position stays valid (or is known to
// be forgotten) for the life of the ring. It is not safe for concurrent use.
type ring[T any] struct {
	limit int64         // byte budget; 0: unbounded
	size  func(T) int64 // estimated bytes a record holds
	segs  []*segment[T] // oldest first
	first uint64        // absolute position of segs[0].items[0]
	bytes int64
}

// push appends v, then forgets the oldest segments while the ring is over its budget (the
// newest segment is always kept).
func (r *ring[T]) push(v T) {
	if len(r.segs) == 0 || len(r.segs[len(r.segs)-1].items) == segmentLen ||
		(r.limit > 0 && r.segs[len(r.segs)-1].bytes >= r.limit/8) {
		r.segs = append(r.segs, &segment[T]{items: make([]T, 0, segmentLen)})
	}
	last := r.segs[len(r.segs)-1]
	n := r.size(v)
	last.items = append(last.items, v)
	last.bytes += n
	r.bytes += n
	for r.limit > 0 && r.bytes > r.limit && len(r.segs) > 1 {
		old := r.segs[0]
		r.bytes -= old.bytes
		r.first += uint64(len(old.items))
		r.segs[0] = nil
		r.segs = r.segs[1:]
	}
}

// end is the position the next record will get.
func (r *ring[T]) end() uint64 {
	n := r.first
	for _, s := range r.segs {
		n += uint64(len(s.items))
	}
	return n
}

// scan calls fn for each stored record at position from or later, oldest first, until fn
// returns false. A from before the oldest stored record starts at the oldest.
func (r *ring[T]) scan(from uint64, fn func(pos uint64, v T) bool) {
	pos := r.first
	for _, s := range r.segs {
		if from >= pos+uint64(len(s.items)) {
			pos += uint64(len(s.items))
			continue
		}
		i := 0
		if from > pos {
			i = int(from - pos)
		}
		for ; i < len(s.items); i++ {
			if !fn(pos+uint64(i), s.items[i]) {
				return
			}
		}
		pos += uint64(len(s.items))
	}
}

// all returns a copy of the stored records, oldest first.
func (r *ring[T]) all() []T {
	out := make([]T, 0, r.end()-r.first)
	for _, s := range r.segs {
		out = append(out, s.items...)
	}
	return out
}

// reset forgets every record; positions go on from where they were.
func (r *ring[T]) reset() {
	r.first = r.end()
	r.segs, r.bytes = nil, 0
}

// scanBack calls fn for each stored record before position before, newest first, until fn
// returns false.
func (r *ring[T]) scanBack(before uint64, fn func(pos uint64, v T) bool) {
	pos := r.end()
	for k := len(r.segs) - 1; k >= 0; k-- {
		s := r.segs[k]
		pos -= uint64(len(s.items))
		for i := len(s.items) - 1; i >= 0; i-- {
			if pos+uint64(i) >= before {
				continue
			}
			if !fn(pos+uint64(i), s.items[i]) {
				return
			}
		}
	}
}
