package iotlog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives events, traces and function log lines from a Logger. A Logger calls its
// sinks from one goroutine, in the order the records were accepted, so a sink needs no lock
// for that; it must not call the Logger back. A sink that also implements Flusher is flushed
// whenever the queue runs empty, so it may buffer its writes.
type Sink interface {
	WriteEvent(Event)
	WriteTrace(Trace)
	WriteFunctionLine(FunctionLine)
}

// Flusher is implemented by sinks that buffer: Flush is called when the Logger's queue is
// empty and at Close.
type Flusher interface {
	Flush() error
}

// DefaultQueueLen is the Logger's queue length when Options.QueueLen is 0.
const DefaultQueueLen = 8192

// Options configure a Logger.
type Options struct {
	// QueueLen bounds the records accepted but not yet handed to the sinks (default
	// DefaultQueueLen). When the queue is full, new records are dropped and counted.
	QueueLen int
	// Now is the clock used for records without a time (default time.Now).
	Now func() time.Time
	// Levels is the AWS v2 logging configuration events are filtered by (default: INFO for
	// everyone).
	Levels Levels
}

// Logger is the event pipeline: producers record events, traces and function log lines;
// sinks subscribe. It is safe for concurrent use, and a nil *Logger discards everything.
//
// Recording never blocks and never waits for a sink. The record (its strings copied, so it
// never keeps a caller's buffer alive, unless the producer owns them already (EventNoCopy),
// and client-controlled fields capped at MaxFieldLen) goes into a bounded queue that one
// goroutine drains into the sinks. The overflow policy is
// drop-newest: a record that finds the queue full is dropped and counted (Stats), and the
// next record the sinks see is a trace saying how many were lost, so the log never claims
// more than it has.
//
// Events are filtered at the source by AWS's logging levels (SetLevels, Enabled): an event
// a level hides is not built, copied or queued. Decision traces are iotemu's own and are not
// filtered by levels.
//
// Flush waits until every record accepted before it has reached every sink; tests use it
// (through the emulator's Logs) to read the log deterministically.
type Logger struct {
	now      func() time.Time
	queueLen int

	levels atomic.Pointer[levelTable]

	mu     sync.Mutex // guards sinks and closed
	sinks  []Sink     // replaced, never changed in place
	closed bool
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed when the dispatcher has stopped

	sinksSnapshot atomic.Pointer[[]Sink]

	// The queue: producers append to batch; the dispatcher takes the whole batch at once and
	// hands its records to the sinks, so that a burst costs one wake-up and no record is
	// copied twice. queued counts the records accepted and not yet handed to the sinks, in
	// batch and in the batch being dispatched; it is what QueueLen bounds.
	qmu     sync.Mutex
	batch   []record
	waiting bool          // the dispatcher waits for wake (qmu)
	wake    chan struct{} // capacity 1: a record came while the dispatcher waited
	room    *sync.Cond    // on qmu: broadcast when the dispatcher has made room or stopped
	queued  atomic.Int64

	recorded, dropped atomic.Uint64
	reported          uint64 // dropped count last reported in the log; dispatcher only
}

// record is one queued item: exactly one of its parts is used, by kind. Traces and function
// lines, rarer and larger, are kept by pointer so that an event's record stays small.
type record struct {
	kind  recordKind
	event Event
	trace *Trace
	line  *FunctionLine
	sync  chan struct{}
}

type recordKind uint8

const (
	kindEvent recordKind = iota
	kindTrace
	kindLine
	kindSync
)

// Stats counts what a Logger did since it started.
type Stats struct {
	// Recorded is the number of records accepted into the queue.
	Recorded uint64
	// Dropped is the number of records lost because the queue was full.
	Dropped uint64
	// Queued is the number of records accepted but not yet handed to the sinks.
	Queued int
}

// New returns a started Logger with default options, feeding sinks.
func New(sinks ...Sink) *Logger {
	return NewWithOptions(Options{}, sinks...)
}

// NewWithOptions returns a started Logger feeding sinks. Close stops it.
func NewWithOptions(opts Options, sinks ...Sink) *Logger {
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Logger{queueLen: opts.QueueLen, now: opts.Now, stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	l.room = sync.NewCond(&l.qmu)
	l.levels.Store(newLevelTable(opts.Levels))
	l.setSinks(slices.Clone(sinks))
	go l.dispatch()
	return l
}

// Subscribe adds s to the sinks: it receives every record accepted from now on, from the
// Logger's goroutine. The returned function unsubscribes it; records already queued may
// still reach it until the next Flush returns.
func (l *Logger) Subscribe(s Sink) (unsubscribe func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setSinks(append(slices.Clip(l.sinks), s))
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		i := slices.Index(l.sinks, s)
		if i >= 0 {
			l.setSinks(slices.Delete(slices.Clone(l.sinks), i, i+1))
		}
	}
}

// setSinks publishes a new sink list to the dispatcher. l.mu must be held (or l unshared).
func (l *Logger) setSinks(s []Sink) {
	l.sinks = s
	l.sinksSnapshot.Store(&s)
}

// SetLevels replaces the logging levels; it applies to events recorded from now on.
func (l *Logger) SetLevels(cfg Levels) {
	l.UpdateLevels(func(lv *Levels) { *lv = cfg })
}

// UpdateLevels changes the logging levels in place: update gets a copy of the levels in
// force (Targets included) and what it leaves there applies from now on. Updates are
// serialized, so two concurrent changes (say SetV2LoggingLevel for two clients) both apply.
func (l *Logger) UpdateLevels(update func(*Levels)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cfg := l.Levels()
	update(&cfg)
	l.levels.Store(newLevelTable(cfg))
}

// Levels returns the logging levels in force; Targets is a copy.
func (l *Logger) Levels() Levels {
	cfg := l.levels.Load().cfg
	cfg.Targets = maps.Clone(cfg.Targets)
	return cfg
}

// Enabled reports whether an event with the given status (StatusSuccess or StatusFailure)
// of the connection w would be written. Producers on a hot path ask before building the
// event, so a hidden event costs one lookup. A nil Logger is never enabled.
func (l *Logger) Enabled(status string, w *Who) bool {
	if l == nil {
		return false
	}
	return l.levels.Load().verbosity(w).Includes(levelOf(status))
}

// Event records e, unless its level is hidden for w (see Enabled); w may be nil for events
// of no connection. A zero Timestamp becomes the clock's now; an empty LogLevel becomes
// AWS's level for its status; an empty TraceID becomes a new one (NewTraceID), made on the
// Logger's goroutine.
func (l *Logger) Event(e Event, w *Who) {
	l.event(e, w, true)
}

// EventNoCopy is Event for a producer whose strings are already its own: immutable, sharing
// no memory with a larger buffer (such as a packet), and constants or copies made once for
// many events. It skips the copy Event makes of every string, most of an event's cost on a
// hot path; a string longer than MaxFieldLen is still cut. The broker records deliveries
// with it: their identity strings are copied once per connection and their topic once per
// run of messages on it.
func (l *Logger) EventNoCopy(e Event, w *Who) {
	l.event(e, w, false)
}

func (l *Logger) event(e Event, w *Who, copyStrings bool) {
	if l == nil {
		return
	}
	if e.LogLevel == "" {
		e.LogLevel = levelOf(e.Status)
	}
	if !l.levels.Load().verbosity(w).Includes(e.LogLevel) {
		return
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = l.now()
	}
	e.own(copyStrings)
	l.enqueue(record{kind: kindEvent, event: e})
}

// Trace records t. A zero Time becomes the clock's now. When Message is empty and Explain is
// set, Message is Explain's String, computed on the Logger's goroutine.
func (l *Logger) Trace(t Trace) {
	if l == nil {
		return
	}
	if t.Time.IsZero() {
		t.Time = l.now()
	}
	t.own()
	l.enqueue(record{kind: kindTrace, trace: &t})
}

// FunctionLine records a line of a function's log. A zero Time becomes the clock's now.
//
// Unlike events and traces, a function line waits for room in the queue: it comes from the
// goroutine that reads the function's output, never from a device's, and Lambda keeps every
// line a function writes (a function that floods its log is slowed down, as by a full pipe).
// Its strings are kept as given, capped: they must not be changed afterwards.
func (l *Logger) FunctionLine(f FunctionLine) {
	if l == nil {
		return
	}
	if f.Time.IsZero() {
		f.Time = l.now()
	}
	f.own()
	l.push(record{kind: kindLine, line: &f}, true)
}

// enqueue accepts r or drops it when the queue is full. It never blocks.
func (l *Logger) enqueue(r record) { l.push(r, false) }

// push adds r to the queue. When the queue is full it waits for room if wait is set, and
// otherwise drops r and counts it; a sync record is never dropped. A record pushed after
// Close is discarded.
func (l *Logger) push(r record, wait bool) {
	l.qmu.Lock()
	for wait && l.queued.Load() >= int64(l.queueLen) && !l.isStopped() {
		l.room.Wait()
	}
	if l.isStopped() {
		l.qmu.Unlock()
		return
	}
	if r.kind != kindSync && l.queued.Load() >= int64(l.queueLen) {
		l.qmu.Unlock()
		l.dropped.Add(1)
		return
	}
	l.batch = append(l.batch, r)
	l.queued.Add(1)
	signal := l.waiting
	l.waiting = false
	l.qmu.Unlock()
	if r.kind != kindSync {
		l.recorded.Add(1)
	}
	if signal {
		l.wake <- struct{}{} // never blocks: one signal per wait, and the channel holds one
	}
}

// isStopped reports whether Close has stopped the Logger's intake.
func (l *Logger) isStopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// Stats returns the Logger's counters.
func (l *Logger) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{Recorded: l.recorded.Load(), Dropped: l.dropped.Load(), Queued: int(l.queued.Load())}
}

// Flush waits until every record accepted before the call has been handed to every sink
// and buffering sinks are flushed, or until ctx ends. It returns nil at once after Close.
func (l *Logger) Flush(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	l.mu.Unlock()
	// The sync record is never dropped (it may pass the queue's bound): it is the caller's
	// own wait, never a device's.
	l.push(record{kind: kindSync, sync: done}, false)
	select {
	case <-done:
		return nil
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close delivers what is queued, flushes the sinks and stops the Logger. Records recorded
// after Close reach no sink. It is safe to call more than once.
func (l *Logger) Close() {
	if l == nil {
		return
	}
	_ = l.Flush(context.Background())
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		l.qmu.Lock()
		close(l.stop)
		l.room.Broadcast() // FunctionLine callers waiting for room give up
		l.qmu.Unlock()
	}
	l.mu.Unlock()
	<-l.done
}

// dispatch is the Logger's goroutine: it takes the queued records a batch at a time, hands
// each to every sink, and flushes the buffering sinks when the queue runs empty.
func (l *Logger) dispatch() {
	defer close(l.done)
	var spare []record
	for {
		l.qmu.Lock()
		batch := l.batch
		if len(batch) == 0 {
			l.waiting = true
		} else {
			l.batch = spare[:0]
		}
		l.qmu.Unlock()
		if len(batch) == 0 {
			flush(*l.sinksSnapshot.Load())
			select {
			case <-l.wake:
				continue
			case <-l.stop:
				l.drainAfterStop()
				return
			}
		}
		for i := range batch {
			l.queued.Add(-1) // handed over: room for another
			l.dispatchOne(&batch[i])
			batch[i] = record{} // the batch is reused: it must not keep what the sinks have
		}
		l.qmu.Lock()
		l.room.Broadcast()
		l.qmu.Unlock()
		spare = batch
	}
}

// drainAfterStop hands the records queued before Close to the sinks and flushes them.
func (l *Logger) drainAfterStop() {
	l.qmu.Lock()
	batch := l.batch
	l.batch = nil
	l.qmu.Unlock()
	for i := range batch {
		l.queued.Add(-1)
		l.dispatchOne(&batch[i])
	}
	flush(*l.sinksSnapshot.Load())
}

// dispatchOne hands r to every sink.
func (l *Logger) dispatchOne(r *record) {
	sinks := *l.sinksSnapshot.Load()
	l.reportDrops(sinks)
	switch r.kind {
	case kindEvent:
		if r.event.TraceID == "" {
			r.event.TraceID = NewTraceID()
		}
		for _, s := range sinks {
			deliver(func() { s.WriteEvent(r.event) })
		}
	case kindTrace:
		r.trace.resolve()
		for _, s := range sinks {
			deliver(func() { s.WriteTrace(*r.trace) })
		}
	case kindLine:
		for _, s := range sinks {
			deliver(func() { s.WriteFunctionLine(*r.line) })
		}
	case kindSync:
		flush(sinks)
		close(r.sync)
	}
}

// reportDrops tells the sinks, once per burst, how many records the full queue cost.
func (l *Logger) reportDrops(sinks []Sink) {
	n := l.dropped.Load()
	if n == l.reported {
		return
	}
	t := Trace{
		Time: l.now(),
		Step: StepLog,
		Message: fmt.Sprintf("%d log records were dropped because the log queue (%d records) was full; %d dropped since start",
			n-l.reported, l.queueLen, n),
	}
	l.reported = n
	for _, s := range sinks {
		deliver(func() { s.WriteTrace(t) })
	}
}

// flush flushes the sinks that buffer.
func flush(sinks []Sink) {
	for _, s := range sinks {
		if f, ok := s.(Flusher); ok {
			deliver(func() { _ = f.Flush() })
		}
	}
}

// deliver runs one sink call, containing a panic to that call.
func deliver(call func()) {
	defer func() { _ = recover() }()
	call()
}
