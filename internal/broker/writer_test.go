package broker

import (
	"errors"
	"io"
	"net"
	"testing"

	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/gateway"
)

// A write to a connection whose peer reads nothing returns at once, until the backlog passes
// the hard limit; then the write fails and the connection is closed as a client error.
func TestConnWriterNeverBlocks(t *testing.T) {
	server, peer := net.Pipe() // a pipe holds nothing: every byte waits for the peer to read
	defer peer.Close()
	s := &Session{}
	w := newConnWriter(&gateway.Conn{Conn: server}, s, 1000, nil)
	for i := range 10 {
		if _, err := w.Write(make([]byte, 100)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if got := w.pending(); got != 1000 {
		t.Errorf("backlog %d bytes, want 1000", got)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, errBacklogExceeded) {
		t.Fatalf("write past the hard limit: %v, want %v", err, errBacklogExceeded)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, errBacklogExceeded) {
		t.Fatalf("write after the limit: %v", err)
	}
	// The connection ends: the peer reads to EOF.
	if _, err := io.Copy(io.Discard, peer); err != nil {
		t.Fatal(err)
	}
	if r := s.getCloseReason(); r != iotlog.DisconnectClientError {
		t.Errorf("close reason %q, want %q", r, iotlog.DisconnectClientError)
	}
}
