// Package connlimit keeps a listener serving when sockets are flooded at it or descriptors run
// out: it bounds how many accepted connections may wait unauthenticated, closing the oldest
// to admit a new one, and it rides out accept errors (too many open files, above all) by
// backing off, as net/http's Serve does, and by shedding waiting connections to free
// descriptors. A connection that has authenticated is never shed.
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
	max    int
	name   string
	logger *slog.Logger

	mu      sync.Mutex
	pending *list.List // of *Conn, oldest first

	closeOnce sync.Once
	closed    chan struct{}
}

// Backoff bounds of failing accepts: net/http's Serve starts at 5 ms and doubles to 1 s.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// Wrap bounds ln's pending connections at max (DefaultMax() when 0). name names the
// listener in the warnings logged to logger (nil: none).
func Wrap(ln net.Listener, max int, name string, logger *slog.Logger) *Listener {
	if max <= 0 {
		max = DefaultMax()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, max: max, name: name, logger: logger, pending: list.New(), closed: make(chan struct{})}
}

// Accept waits for a connection and admits it as pending, closing the oldest pending
// connection when max are already waiting. Errors that pass (too many open files, a
// connection reset before it was accepted) are not returned: Accept backs off and retries,
// logging once per episode, and when descriptors ran out it first sheds the oldest pending
// connection. Only the listener's end is returned.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	failures := 0
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if failures > 0 {
				l.logger.Info("accepting again", "listener", l.name, "failedAccepts", failures)
			}
			return l.admit(c), nil
		}
		// Errors that pass are those net/http's Serve retries: they say Temporary.
		var te interface{ Temporary() bool }
		if errors.Is(err, net.ErrClosed) || !errors.As(err, &te) || !te.Temporary() {
			return nil, err
		}
		if failures == 0 {
			l.logger.Warn("accept failed; backing off and shedding connections that have not authenticated", "listener", l.name, "err", err)
		}
		failures++
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

func (l *Listener) admit(c net.Conn) *Conn {
	pc := &Conn{Conn: c, l: l}
	l.mu.Lock()
	var oldest *Conn
	if l.pending.Len() >= l.max {
		oldest = l.pending.Remove(l.pending.Front()).(*Conn)
		oldest.elem = nil
	}
	pc.elem = l.pending.PushBack(pc)
	l.mu.Unlock()
	if oldest != nil {
		oldest.Conn.Close()
	}
	return pc
}

// shed closes the oldest pending connection, if any, to free its descriptor.
func (l *Listener) shed() {
	l.mu.Lock()
	front := l.pending.Front()
	var oldest *Conn
	if front != nil {
		oldest = l.pending.Remove(front).(*Conn)
		oldest.elem = nil
	}
	l.mu.Unlock()
	if oldest != nil {
		oldest.Conn.Close()
	}
}

// outOfDescriptors reports whether err says the process or the system has no descriptor left.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// Conn is an accepted connection, pending until Authenticated.
type Conn struct {
	net.Conn
	l    *Listener
	elem *list.Element // in l.pending; nil once authenticated, shed or closed
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
	defer c.l.mu.Unlock()
	if c.elem != nil {
		c.l.pending.Remove(c.elem)
		c.elem = nil
	}
}
