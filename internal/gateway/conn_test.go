package gateway

import (
	"io"
	"net"
	"testing"
)

// TestUnreadComesBeforeTheSocket checks that bytes pushed back are read first, the last
// pushed first, then what the socket brings.
func TestUnreadComesBeforeTheSocket(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	c := &Conn{Conn: server}
	defer c.Conn.Close()
	c.Unread([]byte("cd"))
	one := make([]byte, 1)
	if _, err := io.ReadFull(c, one); err != nil || string(one) != "c" {
		t.Fatalf("first read: %q %v", one, err)
	}
	c.Unread([]byte("ab")) // before the "d" still unread
	go func() { _, _ = client.Write([]byte("ef")) }()
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "abdef" {
		t.Fatalf("read %q %v, want abdef", got, err)
	}
}
