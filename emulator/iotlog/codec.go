package iotlog

import (
	"encoding/binary"
	"hash/maphash"
	"strings"
	"time"
	"unsafe"
)

// How a string is written in a segment's chunk: a uvarint x, whose low two bits say what
// follows and whose other bits, x>>2, are a length or an offset.
const (
	strEmpty   = 0 // x is 0: the empty string
	strLiteral = 1 // x>>2 bytes follow
	strRef     = 2 // the string is the one (not a reference) whose header is at offset x>>2
	strDiff    = 3 // a string of x>>2 bytes, as differences from a literal (see writer.diff)
)

const (
	// dedupSlots is the size of the writer's table of recent literals, by hash.
	dedupSlots = 512
	// minDedup is the length from which a string is looked up among the recent literals;
	// a reference to a shorter one would save nothing.
	minDedup = 3
	// minDiff is the length from which a string with a context is written as differences
	// from an earlier string of the same context.
	minDiff = 32
	// minMatch is the shortest run copied from the base string of a difference.
	minMatch = 5
	// maxFields is the number of fields a kind of record has a last-written cache for.
	maxFields = 17
	// diffBits is the size, in bits, of a base string's table of where its 4-byte runs are.
	diffBits = 10
	// maxBases bounds the contexts a writer remembers base strings for.
	maxBases = 256
)

// maxVarint is the most bytes a uvarint or varint takes.
const maxVarint = binary.MaxVarintLen64

// strBound is the most bytes writer.string, writer.text or writer.id write for s.
func strBound(s string) int { return len(s) + maxVarint }

// timeBound is the most bytes writer.time writes.
const timeBound = 3 * maxVarint

// writer encodes records into the newest segment of a ring, end to end in its chunk. Times are
// a location index and the second and nanosecond relative to the segment's second; numbers are
// varints; a string is written once per segment where it can: one equal to a string written
// earlier in the segment is a reference to it (found by the field's last value, or by a hash
// table of recent literals); an identifier (a trace, connection or request ID) is the first
// one of its field in the segment and its own last bytes; a long string with a context (the
// step of a message, the key of a Data value, the log group of a function line) may be the
// differences from the first such string in the segment (an authorizer's event differs from
// device to device in a few IDs). Its tables are about the newest segment and start over with
// each segment, so that records refer only to their own segment and are forgotten with it.
type writer struct {
	seg      *segment
	buf      []byte // seg.data, with the record being written
	start    int    // where the record being written starts
	valBytes int64  // the estimated bytes of vals added by the record being written

	dedup [dedupSlots]uint32    // 1 + the offset of a recent literal, by hash
	last  [maxFields]lastString // each field's last string, as given: compared by pointer first
	ids   [maxFields]lastString // the base of each field's identifiers (see id)
	bases map[baseKey]*diffBase // by context, for text
	ident traceIdentity         // the last trace identity written (see identity)
	seed  maphash.Seed
}

// lastString is a string written to a segment at off.
type lastString struct {
	s   string
	off int
}

// baseKey is the context of a long string: a kind and a name (the step of a trace's message,
// the key of a Data value).
type baseKey struct {
	kind uint8
	name string
}

// Kinds of baseKey.
const (
	ctxMessage uint8 = iota
	ctxData
	ctxLine
)

// diffBase is the literal the long strings of one context are written as differences from,
// with where its 4-byte runs are.
type diffBase struct {
	lastString
	at [1 << diffBits]uint16 // 1 + the position of a run, by hash
}

// reset points the writer at a new newest segment (or none), forgetting its tables.
func (w *writer) reset(s *segment) {
	w.seg = s
	w.buf = nil
	if s != nil {
		w.buf = s.data
	}
	w.dedup = [dedupSlots]uint32{}
	w.last = [maxFields]lastString{}
	for _, b := range w.bases {
		b.s = ""
	}
	w.ids = [maxFields]lastString{}
	w.ident = traceIdentity{}
	if len(w.bases) > maxBases {
		w.bases = nil
	}
	if w.seed == (maphash.Seed{}) {
		w.seed = maphash.MakeSeed()
	}
}

func (w *writer) byte(b byte) { w.buf = append(w.buf, b) }

func (w *writer) uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

func (w *writer) varint(v int64) { w.buf = binary.AppendVarint(w.buf, v) }

// time writes t: its Unix second relative to the segment's, then its nanosecond shifted left
// by one, the low bit saying whether the index of its location among the segment's follows
// (when it is not the first). The monotonic clock reading is not kept.
func (w *writer) time(t time.Time) {
	loc := t.Location()
	i := 0
	for i < len(w.seg.locs) && w.seg.locs[i] != loc {
		i++
	}
	if i == len(w.seg.locs) {
		w.seg.locs = append(w.seg.locs, loc)
	}
	w.varint(t.Unix() - w.seg.sec)
	if i == 0 {
		w.uvarint(uint64(t.Nanosecond()) << 1)
		return
	}
	w.uvarint(uint64(t.Nanosecond())<<1 | 1)
	w.uvarint(uint64(i))
}

// string writes s for field f (< maxFields; -1 for none): a reference to the same string
// written earlier in the segment, or a literal.
func (w *writer) string(f int, s string) {
	if s == "" {
		w.byte(strEmpty)
		return
	}
	if f >= 0 && w.last[f].s == s {
		w.ref(w.last[f].off)
		return
	}
	slot := -1
	if len(s) >= minDedup {
		slot = int(maphash.String(w.seed, s) % dedupSlots)
		if off := int(w.dedup[slot]) - 1; off >= 0 {
			if old := literalAt(w.buf, off); string(old) == s {
				w.ref(off)
				if f >= 0 {
					w.last[f] = lastString{s, off}
				}
				return
			}
		}
	}
	l := w.literal(s)
	if slot >= 0 {
		w.dedup[slot] = uint32(l.off) + 1
	}
	if f >= 0 {
		w.last[f] = lastString{s, l.off}
	}
}

// text writes s, a string of context ctx: as string does, or, when it is long and no recent
// literal equals it, as its differences from the context's base string when they take fewer
// bytes. A long string written as a literal becomes the context's base.
func (w *writer) text(ctx baseKey, s string) {
	if len(s) < minDiff {
		w.string(-1, s)
		return
	}
	slot := int(maphash.String(w.seed, s) % dedupSlots)
	if off := int(w.dedup[slot]) - 1; off >= 0 && string(literalAt(w.buf, off)) == s {
		w.ref(off)
		return
	}
	b := w.bases[ctx]
	if b != nil && b.s != "" && w.diff(s, b) {
		return
	}
	l := w.literal(s)
	w.dedup[slot] = uint32(l.off) + 1
	if len(s) > 1<<16-1 {
		return // positions in a base fit in a uint16
	}
	if b == nil {
		if w.bases == nil {
			w.bases = make(map[baseKey]*diffBase)
		}
		b = new(diffBase)
		w.bases[baseKey{ctx.kind, strings.Clone(ctx.name)}] = b
	}
	b.set(l)
}

// id writes s, an identifier of field f such as a trace ID: as string does when it is short
// or equal to the field's last value, else as a prefix of the field's base (the first
// identifier of the field in the segment) and its own last bytes when the prefix they share
// makes that shorter than a literal (identifiers made by a counter, as NewTraceID's, differ in
// their last few characters), else as a literal, which becomes the field's base if it has
// none. The form is the one diff writes, found at a fraction of its cost: the broker records
// every delivery with a new trace ID.
func (w *writer) id(f int, s string) {
	if len(s) < minDiff || w.last[f].s == s {
		w.string(f, s)
		return
	}
	b := &w.ids[f]
	off := len(w.buf)
	if n := matchLen(s, b.s, 0); n >= 3*maxVarint { // fewer bytes than a literal
		w.uvarint(uint64(len(s))<<2 | strDiff)
		w.uvarint(uint64(b.off))
		w.byte(0) // no literal before the copy
		w.uvarint(uint64(n))
		w.byte(0) // copied from the start of b
		if n < len(s) {
			w.uvarint(uint64(len(s) - n))
			w.buf = append(w.buf, s[n:]...)
			w.byte(0)
		}
		w.last[f] = lastString{s, off}
		return
	}
	l := w.literal(s)
	w.last[f] = lastString{s, l.off}
	if b.s == "" {
		*b = l
	}
}

// traceIdentity is a trace's TraceID, ConnectionID and ClientID, as given, and where they are
// written (0: nowhere yet).
type traceIdentity struct {
	traceID, connectionID, clientID string
	off                             int
}

// identity writes the identity of t: a reference to the last one written, when it is the same
// (the traces of an attempt come one after the other), as uvarint(offset<<1 | 1); or a 0 and
// the three strings.
func (w *writer) identity(t *Trace) {
	id := &w.ident
	if id.off > 0 && id.traceID == t.TraceID && id.connectionID == t.ConnectionID && id.clientID == t.ClientID {
		w.uvarint(uint64(id.off)<<1 | 1)
		return
	}
	w.byte(0)
	*id = traceIdentity{t.TraceID, t.ConnectionID, t.ClientID, len(w.buf)}
	w.id(0, t.TraceID)
	w.id(1, t.ConnectionID)
	w.string(2, t.ClientID)
}

// set makes l the base, and finds its runs.
func (b *diffBase) set(l lastString) {
	b.lastString = l
	b.at = [1 << diffBits]uint16{}
	for i := len(l.s) - 4; i >= 0; i-- { // the first run of equal ones wins
		b.at[run(l.s, i)] = uint16(i) + 1
	}
}

// ref writes a reference to the string written at off.
func (w *writer) ref(off int) { w.uvarint(uint64(off)<<2 | strRef) }

// literal writes s as a literal and returns it as it is in the chunk.
func (w *writer) literal(s string) lastString {
	off := len(w.buf)
	w.uvarint(uint64(len(s))<<2 | strLiteral)
	start := len(w.buf)
	w.buf = append(w.buf, s...)
	return lastString{unsafe.String(&w.buf[start], len(s)), off}
}

// run is the hash of the 4 bytes of s at i.
func run(s string, i int) uint32 {
	v := uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
	return v * 2654435761 >> (32 - diffBits)
}

// diff writes s as its differences from b, the header (strDiff and the length of s) and the
// offset of b's literal, then (literal length, literal bytes, copy length, and when it is not
// 0 the position in b to copy from) until s is complete; a copy is tried where the last one
// left off, then where the 4-byte run at hand first occurs in b. It reports false, and
// writes nothing, when that would not be shorter than a literal.
func (w *writer) diff(s string, b *diffBase) bool {
	mark := len(w.buf)
	limit := mark + len(s) // a literal takes more: its header and s
	w.uvarint(uint64(len(s))<<2 | strDiff)
	w.uvarint(uint64(b.off))
	base := b.s
	lit, next := 0, 0 // where the pending literal starts in s; where the last copy ended in b
	for i := 0; i+minMatch <= len(s); {
		from := next + (i - lit)
		n := matchLen(s[i:], base, from)
		if n < minMatch {
			from = int(b.at[run(s, i)]) - 1
			n = matchLen(s[i:], base, from)
		}
		if n < minMatch {
			i++
			continue
		}
		if len(w.buf)+uvarintLen(i-lit)+(i-lit)+uvarintLen(n)+uvarintLen(from) > limit {
			w.buf = w.buf[:mark]
			return false
		}
		w.uvarint(uint64(i - lit))
		w.buf = append(w.buf, s[lit:i]...)
		w.uvarint(uint64(n))
		w.uvarint(uint64(from))
		i += n
		lit, next = i, from+n
	}
	if lit < len(s) {
		if len(w.buf)+uvarintLen(len(s)-lit)+(len(s)-lit)+1 > limit {
			w.buf = w.buf[:mark]
			return false
		}
		w.uvarint(uint64(len(s) - lit))
		w.buf = append(w.buf, s[lit:]...)
		w.byte(0)
	}
	return true
}

// matchLen is the length of the common prefix of s and base[from:]; 0 when from is out of
// base.
func matchLen(s, base string, from int) int {
	if from < 0 || from >= len(base) {
		return 0
	}
	b := base[from:]
	m := min(len(s), len(b))
	n := 0
	for n+8 <= m && load64(s, n) == load64(b, n) {
		n += 8
	}
	for n < m && s[n] == b[n] {
		n++
	}
	return n
}

// load64 returns the 8 bytes of s at i.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// uvarintLen is the number of bytes of x as a uvarint.
func uvarintLen(x int) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}
