package lambdarunner

import (
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Output handling.
const (
	maxLogLine   = 256 << 10       // AWS: a CloudWatch Logs event is at most 256 KB; a longer line is split
	tailLines    = 20              // lines of output kept for an init error's message
	tailBytes    = 4 << 10         // ... and at most this many bytes of them
	flushTimeout = time.Second     // how long an answer waits for the output written before it
	drainTimeout = 2 * time.Second // after an instance exits, how long a forked process may hold its output open
)

// execOutput reads what an instance writes to stdout and stderr (one pipe) and hands it on line
// by line. It reads continuously, so a function writing a lot is never blocked by it, and holds
// at most one line (maxLogLine) and a short tail.
type execOutput struct {
	r, w *os.File // w: our copy of the write end, for flush markers
	emit func(line string)

	wmu    sync.Mutex // guards w, wdone, sent
	wdone  bool
	sent   int64         // markers written
	seen   atomic.Int64  // markers read
	marked chan struct{} // capacity 1: a marker was read
	eof    chan struct{} // closed when read returns

	tmu   sync.Mutex
	lines []string // the last lines, for init errors
	tsize int
}

// flushMarker is written into the pipe to find out when everything written before it has been
// read: the bytes the function wrote before answering precede it in the pipe.
var flushMarker = []byte("\x00\x1biotemu-flush\x1b") // 0x00 occurs only at the start

func newExecOutput(r, w *os.File, emit func(string)) *execOutput {
	return &execOutput{r: r, w: w, emit: emit, marked: make(chan struct{}, 1), eof: make(chan struct{})}
}

// read splits the output into lines until EOF, removing flush markers.
func (o *execOutput) read() {
	defer close(o.eof)
	buf := make([]byte, 32<<10)
	var line []byte
	matched := 0 // bytes of flushMarker matched so far
	for {
		n, err := o.r.Read(buf)
		for _, b := range buf[:n] {
			if b == flushMarker[matched] {
				matched++
				if matched == len(flushMarker) {
					matched = 0
					line = o.endLine(line) // the invocation's last, unterminated line
					o.seen.Add(1)
					select {
					case o.marked <- struct{}{}:
					default:
					}
				}
				continue
			}
			for _, m := range flushMarker[:matched] {
				line = o.put(line, m)
			}
			matched = 0
			if b == flushMarker[0] {
				matched = 1
				continue
			}
			line = o.put(line, b)
		}
		if err != nil {
			break
		}
	}
	for _, m := range flushMarker[:matched] {
		line = o.put(line, m)
	}
	o.endLine(line)
}

// put adds b to line.
func (o *execOutput) put(line []byte, b byte) []byte {
	if b == '\n' {
		o.emitLine(line)
		return line[:0]
	}
	if len(line) == maxLogLine {
		o.emitLine(line)
		line = line[:0]
	}
	return append(line, b)
}

// endLine emits line if it is not empty.
func (o *execOutput) endLine(line []byte) []byte {
	if len(line) > 0 {
		o.emitLine(line)
	}
	return line[:0]
}

func (o *execOutput) emitLine(line []byte) {
	text := string(line)
	tailText := text
	if len(tailText) > tailBytes {
		tailText = strings.Clone(tailText[len(tailText)-tailBytes:])
	}
	o.tmu.Lock()
	o.lines = append(o.lines, tailText)
	o.tsize += len(tailText)
	for len(o.lines) > tailLines || o.tsize > tailBytes {
		o.tsize -= len(o.lines[0])
		o.lines = o.lines[1:]
	}
	o.tmu.Unlock()
	o.emit(text)
}

// tail returns the last lines of output (at most tailLines lines, tailBytes bytes).
func (o *execOutput) tail() []string {
	o.tmu.Lock()
	defer o.tmu.Unlock()
	return slices.Clone(o.lines)
}

// mark writes a flush marker into the pipe: everything written to the pipe before it will have
// been read and handed on when read has seen the marker. It returns the marker's number, or -1
// when the pipe is closed.
func (o *execOutput) mark() int64 {
	o.wmu.Lock()
	defer o.wmu.Unlock()
	if o.wdone {
		return -1
	}
	if _, err := o.w.Write(flushMarker); err != nil {
		return -1
	}
	o.sent++
	return o.sent
}

// awaitMark waits until read has seen marker number want (-1: until EOF), or for flushTimeout.
func (o *execOutput) awaitMark(want int64) {
	t := time.NewTimer(flushTimeout)
	defer t.Stop()
	for want < 0 || o.seen.Load() < want {
		select {
		case <-o.marked:
		case <-o.eof:
			return
		case <-t.C:
			return
		}
	}
}

// close closes our write end and waits for read to reach EOF; a process that escaped the
// process group and still holds the pipe is cut off after drainTimeout.
func (o *execOutput) close() {
	o.wmu.Lock()
	o.wdone = true
	_ = o.w.Close()
	o.wmu.Unlock()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-o.eof:
	case <-t.C:
	}
	_ = o.r.Close() // unblocks a pending Read
	<-o.eof
}
