package iotlog

import (
	"encoding/binary"
	"time"
	"unsafe"
)

// segmentBytes is the size of a segment's chunk, unless its ring's budget is smaller or a
// record is larger. Offsets into a chunk of this size fit in a uint16.
const segmentBytes = 64 << 10

// segment is a block of records in one chunk of bytes, allocated once and never grown: the
// records are encoded end to end from its start (see writer), and its index, where each record
// starts as a uint16, grows down from its end (the first record's entry is its last two
// bytes); the segment is full when they would meet. What a segment holds is read in place:
// the strings a reader gets back point into the chunk, whose bytes are never written again
// once written.
type segment struct {
	data  []byte           // the records; its capacity is the chunk, index included
	n     int              // the number of records
	one   bool             // the chunk is larger than segmentBytes: it takes one record
	vals  []any            // trace Data values of types not encoded in data, by index
	locs  []*time.Location // the locations of the times in data, by index
	sec   int64            // the Unix second the times in data are written relative to
	bytes int64            // what the segment holds: its chunk and an estimate of its vals
}

// indexSize is the bytes of an index entry.
const indexSize = 2

// full reports whether the segment has no room for another record of need bytes.
func (s *segment) full(need int) bool {
	return s.one && s.n > 0 || cap(s.data)-len(s.data)-(s.n+1)*indexSize < need
}

// off returns where record i starts.
func (s *segment) off(i int) int {
	c := cap(s.data)
	return int(binary.LittleEndian.Uint16(s.data[c-(i+1)*indexSize : c]))
}

// add indexes a record that starts at off.
func (s *segment) add(off int) {
	c := cap(s.data)
	s.n++
	binary.LittleEndian.PutUint16(s.data[c-s.n*indexSize:c], uint16(off))
}

// ring keeps the newest records of one kind within a byte budget, in segments: appending
// never copies what is stored, and forgetting the oldest records frees a whole segment at
// once. A ring's bytes are its segments' allocations, counted when a
// segment is made (plus the estimates for trace Data values kept as they are); a chunk is at
// most an eighth of the budget, so the ring holds at most about its budget (or, when one
// record alone is larger, that record's segment). Positions are absolute:
// the first record ever stored is 0, and a position stays valid (or is known to be forgotten)
// for the life of the ring. It is not safe for concurrent use.
type ring struct {
	limit int64      // byte budget; 0: unbounded
	segs  []*segment // oldest first
	first uint64     // absolute position of the first record of segs[0]
	bytes int64
	w     writer // writes into the newest segment
}

// open returns the writer, ready to write a record of at most need bytes (times relative to
// the Unix second sec, if it opens a new segment) into the newest segment, which it first
// replaces by a new one when it is full. Opening a segment forgets the oldest ones while the
// ring is over its budget. The record is stored when commit is called.
func (r *ring) open(need int, sec int64) *writer {
	if len(r.segs) == 0 || r.segs[len(r.segs)-1].full(need) {
		size := segmentBytes
		if r.limit > 0 {
			size = min(size, int(r.limit/8))
		}
		size = max(size, need+indexSize)
		// A larger chunk takes one record, so that where records start fits in a uint16.
		s := &segment{data: make([]byte, 0, size), one: size > segmentBytes, sec: sec, bytes: int64(size)}
		r.segs = append(r.segs, s)
		r.bytes += s.bytes
		r.w.reset(s)
		for r.limit > 0 && r.bytes > r.limit && len(r.segs) > 1 {
			old := r.segs[0]
			r.bytes -= old.bytes
			r.first += uint64(old.n)
			r.segs[0] = nil
			r.segs = r.segs[1:]
		}
	}
	r.w.start = len(r.w.buf)
	return &r.w
}

// commit stores the record written since open.
func (r *ring) commit() {
	s := r.w.seg
	s.data = r.w.buf
	s.add(r.w.start)
	r.bytes += r.w.valBytes
	s.bytes += r.w.valBytes
	r.w.valBytes = 0
}

// end is the position the next record will get.
func (r *ring) end() uint64 {
	n := r.first
	for _, s := range r.segs {
		n += uint64(s.n)
	}
	return n
}

// scan calls fn with a reader at each stored record at position from or later, oldest first,
// until fn returns false. A from before the oldest stored record starts at the oldest.
func (r *ring) scan(from uint64, fn func(pos uint64, rd *reader) bool) {
	pos := r.first
	for _, s := range r.segs {
		n := uint64(s.n)
		if from >= pos+n {
			pos += n
			continue
		}
		i := uint64(0)
		if from > pos {
			i = from - pos
		}
		for ; i < n; i++ {
			rd := reader{seg: s, i: s.off(int(i))}
			if !fn(pos+i, &rd) {
				return
			}
		}
		pos += n
	}
}

// scanBack calls fn with a reader at each stored record before position before, newest
// first, until fn returns false.
func (r *ring) scanBack(before uint64, fn func(pos uint64, rd *reader) bool) {
	pos := r.end()
	for k := len(r.segs) - 1; k >= 0; k-- {
		s := r.segs[k]
		pos -= uint64(s.n)
		for i := s.n - 1; i >= 0; i-- {
			if pos+uint64(i) >= before {
				continue
			}
			rd := reader{seg: s, i: s.off(i)}
			if !fn(pos+uint64(i), &rd) {
				return
			}
		}
	}
}

// reset forgets every record; positions go on from where they were.
func (r *ring) reset() {
	r.first = r.end()
	r.segs, r.bytes = nil, 0
	r.w.reset(nil)
}

// reader decodes the records of a segment from a position in its chunk (see writer).
type reader struct {
	seg *segment
	i   int
}

func (d *reader) uvarint() uint64 {
	v, n := binary.Uvarint(d.seg.data[d.i:])
	d.i += n
	return v
}

func (d *reader) varint() int64 {
	v, n := binary.Varint(d.seg.data[d.i:])
	d.i += n
	return v
}

func (d *reader) byte() byte {
	b := d.seg.data[d.i]
	d.i++
	return b
}

// time reads a time written by writer.time.
func (d *reader) time() time.Time {
	sec := d.seg.sec + d.varint()
	ns := d.uvarint()
	loc := 0
	if ns&1 != 0 {
		loc = int(d.uvarint())
	}
	return time.Unix(sec, int64(ns>>1)).In(d.seg.locs[loc])
}

// identity returns a reader at the three strings of a trace's identity (see
// writer.identity), and moves past it.
func (d *reader) identity() reader {
	if x := d.uvarint(); x&1 != 0 {
		return reader{seg: d.seg, i: int(x >> 1)}
	}
	id := *d
	d.skip()
	d.skip()
	d.skip()
	return id
}

// bytes reads a string written by writer.string, writer.text or writer.id. The result points
// into the chunk, with its capacity cut to its length, unless it was written as a difference,
// which is rebuilt in a new slice; nil stands for an empty string.
func (d *reader) bytes() []byte {
	x := d.uvarint()
	n := int(x >> 2)
	switch x & 3 {
	case strLiteral:
		b := d.seg.data[d.i : d.i+n : d.i+n]
		d.i += n
		return b
	case strRef:
		r := reader{seg: d.seg, i: n}
		return r.bytes()
	case strDiff:
		return d.undiff(n)
	}
	return nil
}

// str is bytes as a string; the bytes are never written again.
func (d *reader) str() string {
	b := d.bytes()
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// equal reads a string and reports whether it is s, without building it.
func (d *reader) equal(s string) bool {
	x := d.uvarint()
	n := int(x >> 2)
	switch x & 3 {
	case strLiteral:
		eq := string(d.seg.data[d.i:d.i+n]) == s
		d.i += n
		return eq
	case strRef:
		r := reader{seg: d.seg, i: n}
		return r.equal(s)
	case strDiff:
		eq := n == len(s)
		d.diff(n, func(i int, part []byte) {
			eq = eq && string(part) == s[i:i+len(part)]
		})
		return eq
	}
	return s == ""
}

// skip reads past a string without building it.
func (d *reader) skip() {
	x := d.uvarint()
	switch x & 3 {
	case strLiteral:
		d.i += int(x >> 2)
	case strDiff:
		d.diff(int(x>>2), func(int, []byte) {})
	}
}

// literal returns the literal string whose header is at off.
func (s *segment) literal(off int) []byte { return literalAt(s.data, off) }

// literalAt returns the literal string whose header is at off in b.
func literalAt(b []byte, off int) []byte {
	n, k := binary.Uvarint(b[off:])
	start := off + k
	end := start + int(n>>2)
	return b[start:end:end]
}

// undiff rebuilds a string of n bytes written as a difference from a literal (see
// writer.diff).
func (d *reader) undiff(n int) []byte {
	out := make([]byte, 0, n)
	d.diff(n, func(_ int, part []byte) { out = append(out, part...) })
	return out
}

// diff reads the rest of a string of n bytes written as a difference (see writer.diff), after
// its header, and calls fn with each part of it in turn and where the part starts.
func (d *reader) diff(n int, fn func(at int, part []byte)) {
	base := d.seg.literal(int(d.uvarint()))
	for at := 0; at < n; {
		lit := int(d.uvarint())
		fn(at, d.seg.data[d.i:d.i+lit])
		d.i += lit
		at += lit
		if c := int(d.uvarint()); c > 0 {
			from := int(d.uvarint())
			fn(at, base[from:from+c])
			at += c
		}
	}
}
