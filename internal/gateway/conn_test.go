package gateway

import (
	"io"
	"net"
	"slices"
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

func TestOfferedALPN(t *testing.T) {
	mqtt := offeredALPN([]string{"mqtt"})
	if len(mqtt) != 1 || mqtt[0] != ALPNMQTT || &mqtt[0] != &offeredALPN([]string{"mqtt"})[0] {
		t.Errorf("an offer of mqtt alone is not the shared list: %q", mqtt)
	}
	for _, offer := range [][]string{nil, {"mqtt", "http/1.1"}, {"other"}} {
		got := offeredALPN(offer)
		if !slices.Equal(got, offer) {
			t.Errorf("offeredALPN(%q) = %q", offer, got)
		}
		if len(offer) > 0 && &got[0] == &offer[0] {
			t.Errorf("offeredALPN(%q) keeps the client hello's list", offer)
		}
	}
}
