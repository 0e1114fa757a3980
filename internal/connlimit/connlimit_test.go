package connlimit

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotemu/iotemu/internal/syncbuf"
)

// listen returns a loopback listener bounded at max, logging to the returned buffer.
func listen(t *testing.T, max int) (*Listener, *syncbuf.Buffer) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	ln := Wrap(raw, max, "test", slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(func() { ln.Close() })
	return ln, logs
}

// pair dials ln and accepts the connection.
func pair(t *testing.T, ln *Listener) (client net.Conn, server *Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return client, c.(*Conn)
}

// closedByServer reports whether the server end of client was closed: a read ends with EOF
// or a reset instead of the deadline.
func closedByServer(t *testing.T, client net.Conn) bool {
	t.Helper()
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := client.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// echoes reports whether a byte written on one end arrives at the other.
func echoes(t *testing.T, from, to net.Conn) bool {
	t.Helper()
	if _, err := from.Write([]byte{42}); err != nil {
		return false
	}
	_ = to.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	_, err := io.ReadFull(to, b)
	return err == nil && b[0] == 42
}

// TestPendingConnectionsAreBoundedOldestFirst: a flood of sockets that never authenticate
// holds at most max of them; each new one closes the oldest; authenticated ones stay.
func TestPendingConnectionsAreBoundedOldestFirst(t *testing.T) {
	ln, _ := listen(t, 3)
	ln.Grace = -1 // no connection is young enough to be spared
	device, deviceSrv := pair(t, ln)
	deviceSrv.Authenticated()
	var flood []net.Conn
	for range 8 {
		c, _ := pair(t, ln)
		flood = append(flood, c)
	}
	if got := ln.Pending(); got != 3 {
		t.Fatalf("%d pending, want 3", got)
	}
	for i, c := range flood[:5] {
		if !closedByServer(t, c) {
			t.Fatalf("flood socket %d (of the 5 oldest) is still open", i)
		}
	}
	if !echoes(t, device, deviceSrv) || !echoes(t, deviceSrv, device) {
		t.Fatal("the authenticated connection was shed")
	}
}

// TestIdleConnectionsGoFirstAndNewOnesHaveAGracePeriod: to admit a new connection, an idle
// one (an HTTP keep-alive socket between requests) is closed before an older one still
// connecting; while every pending connection is young and busy, nothing is accepted and the
// newcomer waits in the backlog until one becomes idle.
func TestIdleConnectionsGoFirstAndNewOnesHaveAGracePeriod(t *testing.T) {
	ln, logs := listen(t, 3)
	pair(t, ln) // connecting, and stays so
	idle, idleSrv := pair(t, ln)
	busy, busySrv := pair(t, ln)
	idleSrv.SetIdle(true)
	newcomer, newSrv := pair(t, ln)
	if !closedByServer(t, idle) {
		t.Fatal("the idle connection was not the one closed")
	}
	if !echoes(t, newcomer, newSrv) {
		t.Fatal("the newcomer was not admitted")
	}

	// Now no one is idle and everyone is within the grace period.
	waiting, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	// Accept logs that it waits before it waits for the first time.
	for !strings.Contains(logs.String(), "accepting nothing for now") {
		select {
		case c := <-accepted:
			c.Close()
			t.Fatal("a connection beyond the bound was accepted while every pending one was young and busy")
		default:
			runtime.Gosched()
		}
	}
	busySrv.SetIdle(true)
	c := <-accepted
	defer c.Close()
	if !echoes(t, waiting, c) {
		t.Fatal("the waiting connection was not served")
	}
	if !closedByServer(t, busy) {
		t.Fatal("the connection that became idle was not the one closed")
	}
	if got := ln.Pending(); got != 3 {
		t.Fatalf("%d pending, want 3", got)
	}
}

// TestAcceptRidesOutDescriptorExhaustion lowers the process's RLIMIT_NOFILE so that the next
// accept fails with "too many open files": Accept sheds the oldest pending connection to free
// a descriptor, backs off, accepts the waiting client, and logs it once; the
// authenticated connection is served throughout.
func TestAcceptRidesOutDescriptorExhaustion(t *testing.T) {
	// Not parallel: the descriptor limit is the whole process's.
	ln, logs := listen(t, 100)
	device, deviceSrv := pair(t, ln)
	deviceSrv.Authenticated()
	idle, _ := pair(t, ln)
	waiting, err := net.Dial("tcp", ln.Addr().String()) // in the backlog, not accepted yet
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()

	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Skip("no RLIMIT_NOFILE:", err)
	}
	lowered := saved
	lowered.Cur = uint64(lowestFreeDescriptor(t))
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Skip("cannot lower RLIMIT_NOFILE:", err)
	}
	accepted, err := ln.Accept()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("Accept returned %v while descriptors ran out; want it to shed and retry", err)
	}
	defer accepted.Close()
	if !closedByServer(t, idle) {
		t.Fatal("the pending idle connection was not shed to free a descriptor")
	}
	if !echoes(t, waiting, accepted) {
		t.Fatal("the client waiting in the backlog was not served")
	}
	if !echoes(t, device, deviceSrv) || !echoes(t, deviceSrv, device) {
		t.Fatal("the authenticated connection was shed")
	}
	out := logs.String()
	if strings.Count(out, "accept failed") != 1 || !strings.Contains(out, "too many open files") {
		t.Fatalf("want one warning for the failed accept, logged:\n%s", out)
	}
}

// lowestFreeDescriptor returns the number the next descriptor would get: with RLIMIT_NOFILE
// lowered to it, no descriptor can be opened.
func lowestFreeDescriptor(t *testing.T) int {
	t.Helper()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return int(f.Fd())
}
