// Package connlimit keeps a listener serving when sockets are flooded at it or descriptors run
// out. It bounds how many accepted connections may wait unauthenticated. To admit one more it
// closes the oldest idle one (an HTTP keep-alive connection between requests), else the
// oldest that has had its grace period to connect; while neither exists it accepts nothing,
// and new connections wait their turn in the kernel's backlog. So a flood can neither push
// out a device in the middle of connecting nor keep it out for long. It rides out accept
// errors (too many open files, above all) by backing off, as net/http's Serve does, and by
// shedding waiting connections to free descriptors. A connection that has authenticated is
// never shed.
package connlimit

import (
	"container/list"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Listener is a net.Listener whose connections count as pending until Authenticated.
type Listener struct {
	net.Listener
	// Grace is how long a new connection is safe from being closed for a newcomer (default
	// DefaultGrace); set it before the first Accept. A negative Grace makes every connection
	// fair game: the oldest is closed.
	Grace  time.Duration
	max    int
	name   string
	logger *slog.Logger
	start  time.Time // Conn.admitted counts from it

	mu       sync.Mutex
	pending  *list.List    // of *Conn, oldest first
	waits    throttle      // times Accept waited for room
	failures throttle      // accepts that failed
	changed  chan struct{} // capacity 1: a pending connection left or became idle

	closeOnce sync.Once
	closed    chan struct{}
}

// DefaultGrace is how long a device has to connect before a flood may push it out: a TLS
// handshake, a CONNECT and an authorizer's answer on a busy machine.
const DefaultGrace = 2 * time.Second

// Backoff bounds of failing accepts: net/http's Serve starts at 5 ms and doubles to 1 s.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// logEvery is how often, at most, a listener logs refusals and failed accepts: a flood must
// not become a flood of log lines.
const logEvery = 10 * time.Second

// throttle counts what happened since it was last logged.
type throttle struct {
	last  time.Time
	count int
}

// note counts one more and returns how many to log now, or 0 when it is too soon.
func (t *throttle) note(now time.Time) int {
	t.count++
	if now.Sub(t.last) < logEvery {
		return 0
	}
	n := t.count
	t.last, t.count = now, 0
	return n
}

// Wrap bounds ln's pending connections at max (DefaultMax() when 0). name names the
// listener in the warnings logged to logger (nil: none).
func Wrap(ln net.Listener, max int, name string, logger *slog.Logger) *Listener {
	if max <= 0 {
		max = DefaultMax()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, Grace: DefaultGrace, max: max, name: name, logger: logger, start: time.Now(), pending: list.New(), changed: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Accept waits for room (see the package doc) and for a connection, and admits it as
// pending. Errors that pass (too many open files, a connection reset before it was accepted)
// are not returned: Accept backs off and retries, and when descriptors ran out it first sheds
// a pending connection. Waits and failures are logged at most every 10 s, with their count.
// Only the listener's end is returned.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		if err := l.waitForRoom(); err != nil {
			return nil, err
		}
		c, err := l.Listener.Accept()
		if err == nil {
			return l.admit(c), nil
		}
		// Errors that pass are those net/http's Serve retries: they say Temporary.
		var te interface{ Temporary() bool }
		if errors.Is(err, net.ErrClosed) || !errors.As(err, &te) || !te.Temporary() {
			return nil, err
		}
		l.mu.Lock()
		n := l.failures.note(time.Now())
		l.mu.Unlock()
		if n > 0 {
			l.logger.Warn("accept failed; backing off and shedding connections that have not authenticated", "listener", l.name, "err", err, "failures", n)
		}
		if outOfDescriptors(err) {
			l.shed()
		}
		delay = min(max(2*delay, minBackoff), maxBackoff)
		select {
		case <-time.After(delay):
		case <-l.closed:
			return nil, net.ErrClosed
		}
	}
}

// Close stops accepting. Accepted connections stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Pending returns how many accepted connections have not authenticated yet.
func (l *Listener) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending.Len()
}

// waitForRoom returns once a connection may be admitted: fewer than max are pending, or one
// of them is idle or past its grace period.
func (l *Listener) waitForRoom() error {
	for {
		now := time.Now()
		l.mu.Lock()
		wait, logged := l.roomLocked(now), 0
		if wait > 0 {
			logged = l.waits.note(now)
		}
		l.mu.Unlock()
		if wait <= 0 {
			return nil
		}
		if logged > 0 {
			l.logger.Warn("accepting nothing for now: every place for a connection that has not authenticated yet is taken by one still connecting; new connections wait in the backlog", "listener", l.name, "max", l.max, "waits", logged)
		}
		t := time.NewTimer(wait)
		select {
		case <-l.changed:
		case <-t.C:
		case <-l.closed:
			t.Stop()
			return net.ErrClosed
		}
		t.Stop()
	}
}

// roomLocked returns 0 when a connection may be admitted now, else how long until the oldest
// pending one has had its grace period (or a long while, when the grace is longer).
func (l *Listener) roomLocked(now time.Time) time.Duration {
	front := l.pending.Front()
	if l.pending.Len() < l.max || front == nil {
		return 0
	}
	for x := front; x != nil; x = x.Next() {
		if x.Value.(*Conn).idle {
			return 0
		}
	}
	return max(front.Value.(*Conn).admittedAt().Add(l.Grace).Sub(now), 0)
}

// admit makes c pending, closing another to make room when max are pending.
func (l *Listener) admit(c net.Conn) *Conn {
	now := time.Now()
	pc := &Conn{Conn: c, l: l, admitted: now.Sub(l.start)}
	l.mu.Lock()
	var victim *Conn
	if l.pending.Len() >= l.max {
		// waitForRoom found one; if it has since left, the oldest goes.
		victim = l.victimLocked(now.Add(-l.Grace))
		if victim == nil {
			victim = l.victimLocked(now)
		}
	}
	pc.elem = l.pending.PushBack(pc)
	l.mu.Unlock()
	if victim != nil {
		victim.Conn.Close()
	}
	return pc
}

// shed closes a pending connection, if any, to free its descriptor.
func (l *Listener) shed() {
	l.mu.Lock()
	victim := l.victimLocked(time.Now())
	l.mu.Unlock()
	if victim != nil {
		victim.Conn.Close()
	}
}

// victimLocked takes the pending connection to close out of the list: the oldest idle one
// (an HTTP keep-alive connection between requests), else the oldest admitted before
// graceEnd; nil when there is none.
func (l *Listener) victimLocked(graceEnd time.Time) *Conn {
	var e *list.Element
	for x := l.pending.Front(); x != nil; x = x.Next() {
		if x.Value.(*Conn).idle {
			e = x
			break
		}
	}
	if front := l.pending.Front(); e == nil && front != nil && !front.Value.(*Conn).admittedAt().After(graceEnd) {
		e = front
	}
	if e == nil {
		return nil
	}
	v := l.pending.Remove(e).(*Conn)
	v.elem = nil
	return v
}

// outOfDescriptors reports whether err says the process or the system has no descriptor left.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// Conn is an accepted connection, pending until Authenticated.
type Conn struct {
	net.Conn
	l        *Listener
	elem     *list.Element // in l.pending; nil once authenticated, shed or closed
	idle     bool          // guarded by l.mu
	admitted time.Duration // since l.start, on the monotonic clock: a time.Time is three times larger
}

// admittedAt returns when the connection was admitted.
func (c *Conn) admittedAt() time.Time { return c.l.start.Add(c.admitted) }

// SetIdle says whether the connection waits for its client with nothing in progress (an HTTP
// keep-alive connection between requests): idle connections are shed first.
func (c *Conn) SetIdle(idle bool) {
	c.l.mu.Lock()
	c.idle = idle
	c.l.mu.Unlock()
	if idle {
		c.l.signal()
	}
}

// signal wakes an Accept waiting for room.
func (l *Listener) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// Authenticated takes the connection out of the pending ones: it is never shed.
func (c *Conn) Authenticated() { c.release() }

// Close releases the connection's pending place and closes it.
func (c *Conn) Close() error {
	c.release()
	return c.Conn.Close()
}

func (c *Conn) release() {
	c.l.mu.Lock()
	released := c.elem != nil
	if released {
		c.l.pending.Remove(c.elem)
		c.elem = nil
	}
	c.l.mu.Unlock()
	if released {
		c.l.signal()
	}
}
