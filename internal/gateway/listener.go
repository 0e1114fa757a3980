package gateway

import (
	"net"
	"sync"
)

// connListener is a net.Listener fed with connections the gateway already accepted and
// checked, so that net/http serves them.
type connListener struct {
	addr   net.Addr
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newConnListener(ln net.Listener) *connListener {
	l := &connListener{ch: make(chan net.Conn), closed: make(chan struct{})}
	if ln != nil {
		l.addr = ln.Addr()
	}
	return l
}

func (l *connListener) deliver(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr {
	if l.addr == nil {
		return &net.TCPAddr{}
	}
	return l.addr
}
