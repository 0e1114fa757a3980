package broker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/gateway"
	"github.com/iotemu/iotemu/internal/workpool"
)

// errBacklogExceeded ends a connection whose unsent bytes passed the hard limit: a client that
// reads nothing while it keeps sending packets that need answers.
var errBacklogExceeded = errors.New("the client reads too slowly: unsent bytes passed the connection's limit")

// connWriter is the connection mochi writes to. A write never waits for the socket: the bytes
// join the connection's backlog and a worker of drainers, busy with this connection only while
// there is a backlog, writes them out. mochi holds its client's lock while it writes, and a publisher needs that lock to
// deliver a QoS 1 message (for a packet ID); with a direct socket write, one subscriber that
// stops reading would stall every publisher to its topics until its keep-alive ran out.
//
// The backlog is bounded: deliveries are refused (and logged as failed) once it reaches the
// broker's high-water mark (see admitDelivery), and a connection whose backlog passes the hard
// limit, which only its own control packets can do, is closed.
type connWriter struct {
	*gateway.Conn
	s *Session

	pace *pacer // nil: write as fast as the socket takes the bytes

	backlog   atomic.Int64 // bytes accepted and not yet written
	hardLimit int32        // see Write

	mu       sync.Mutex
	writing  bool      // a drain runs
	closing  bool      // Close was called while a drain ran
	buf      []byte    // bytes accepted and not yet handed to the socket
	err      error     // the first write error: later writes fail with it
	deadline time.Time // the write deadline mochi set (its keep-alive deadline)
}

func newConnWriter(c *gateway.Conn, s *Session, hardLimit int32, pace *pacer) *connWriter {
	return &connWriter{Conn: c, s: s, hardLimit: hardLimit, pace: pace}
}

// Write accepts p, whole MQTT packets, into the backlog and returns at once.
func (w *connWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.pending()+len(p) > int(w.hardLimit) {
		// A drain runs (the backlog is not empty): end its write now; it closes
		// the connection once it returns.
		w.err, w.closing, w.deadline = errBacklogExceeded, true, time.Now()
		w.s.setCloseReason(iotlog.DisconnectClientError)
		_ = w.Conn.SetWriteDeadline(w.deadline)
		return 0, w.err
	}
	if w.buf == nil {
		w.buf = getBuffer()
	}
	w.buf = append(w.buf, p...)
	w.backlog.Add(int64(len(p)))
	if !w.writing {
		w.writing = true
		drainers.Go(w)
	}
	return len(p), nil
}

// drainers run the connections' drains. A goroutine per backlog would leave an ended goroutine
// behind nearly every connect (the CONNACK), and the runtime hands its stack, at the size it
// gives new goroutines, to the next goroutine started: often mochi's writer for the next
// connection, which then keeps an 8 KiB stack for its life instead of growing to 4 KiB.
var drainers = workpool.New(drainerIdle, (*connWriter).drain)

// drainerIdle is how long a worker of drainers waits for another backlog before it ends.
const drainerIdle = 10 * time.Second

// drain writes the backlog out until it is empty, then returns, giving its buffers back to the
// pool: an idle connection keeps none.
func (w *connWriter) drain() {
	var spare []byte
	for {
		w.mu.Lock()
		if len(w.buf) == 0 || w.err != nil {
			w.writing = false
			closing := w.closing
			putBuffer(w.buf)
			w.buf = nil
			w.mu.Unlock()
			putBuffer(spare)
			if closing {
				w.Conn.Close()
			}
			return
		}
		out := w.buf
		w.buf, spare = spare, nil
		deadline := w.deadline
		w.mu.Unlock()

		if w.pace != nil {
			w.pace.wait(len(out))
		}
		_ = w.Conn.SetWriteDeadline(deadline)
		_, err := w.Conn.Write(out)
		w.backlog.Add(-int64(len(out)))
		if err != nil {
			w.mu.Lock()
			w.backlog.Add(-int64(len(w.buf)))
			w.err, w.buf = err, nil
			w.mu.Unlock()
			w.Conn.Close() // the reader sees the socket closed and mochi ends the session
			continue
		}
		// Keep one buffer for the next round while the connection is busy.
		if cap(out) <= maxSpareBuffer {
			spare = out[:0]
		}
	}
}

// writeBuffers holds the backlog buffers of the connections that are not writing, so that a
// burst of deliveries to a connection allocates none.
var writeBuffers sync.Pool

// getBuffer returns an empty buffer from the pool, or nil (append allocates one).
func getBuffer() []byte {
	if p, ok := writeBuffers.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return nil
}

// putBuffer gives b to the pool, unless it is nil or larger than a busy connection keeps.
func putBuffer(b []byte) {
	if b == nil || cap(b) > maxSpareBuffer {
		return
	}
	b = b[:0]
	writeBuffers.Put(&b)
}

// closeFlushTime bounds how long a closed connection may take to write its backlog.
const closeFlushTime = time.Second

// maxSpareBuffer is the largest buffer a busy connection keeps between two writes.
const maxSpareBuffer = 64 << 10

// SetDeadline sets the read deadline at once and keeps the write deadline for the writes in
// the backlog: mochi sets both from the keep-alive.
func (w *connWriter) SetDeadline(t time.Time) error {
	w.mu.Lock()
	w.deadline = t
	w.mu.Unlock()
	return w.Conn.SetReadDeadline(t)
}

// SetWriteDeadline keeps t for the writes in the backlog.
func (w *connWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	w.deadline = t
	w.mu.Unlock()
	return nil
}

// Close closes the connection once the backlog is written (a DISCONNECT mochi wrote last
// reaches the client), or at once when nothing is pending.
func (w *connWriter) Close() error {
	w.mu.Lock()
	if w.writing {
		// A write stuck on a client that reads nothing ends soon instead of at its keep-alive.
		w.closing, w.deadline = true, time.Now().Add(closeFlushTime)
		w.mu.Unlock()
		return w.Conn.SetWriteDeadline(time.Now().Add(closeFlushTime))
	}
	w.mu.Unlock()
	return w.Conn.Close()
}

// pending returns the number of bytes accepted and not yet written.
func (w *connWriter) pending() int { return int(w.backlog.Load()) }

// pacer spreads writes so that a connection sends at most rate bytes per second: AWS delays
// what passes a connection's throughput quota.
type pacer struct {
	rate int       // bytes per second
	next time.Time // when the bytes written so far are paid for
}

// wait waits until n more bytes fit the rate. Only a drain calls it.
func (p *pacer) wait(n int) {
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		time.Sleep(d)
	}
	p.next = p.next.Add(time.Duration(n) * time.Second / time.Duration(p.rate))
}
