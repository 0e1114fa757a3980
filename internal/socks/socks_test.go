package socks

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
)

// echo starts a TCP server that echoes what it reads.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func dialThrough(t *testing.T, proxy net.Addr, host string, port uint16) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp", proxy.String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{5, 1, 0})
	var method [2]byte
	if _, err := io.ReadFull(c, method[:]); err != nil || method != [2]byte{5, 0} {
		t.Fatalf("method reply %v, %v", method, err)
	}
	req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
	req = append(req, byte(port>>8), byte(port))
	c.Write(req)
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		t.Fatal(err)
	}
	return c, rep[1]
}

func TestProxyMapsEveryNameByPort(t *testing.T) {
	s, err := Listen("127.0.0.1:0", map[string]string{"443": echo(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	c, rep := dialThrough(t, s.Addr(), "abc-ats.iot.us-east-1.amazonaws.com", 443)
	if rep != repSucceeded {
		t.Fatalf("reply %d", rep)
	}
	c.Write([]byte("ping"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, []byte("ping")) {
		t.Fatalf("tunnel echoed %q, %v", got, err)
	}
	c.Close()

	c, rep = dialThrough(t, s.Addr(), "example.com", 80)
	defer c.Close()
	if rep != repNotAllowed {
		t.Fatalf("a port with no listener: reply %d, want %d", rep, repNotAllowed)
	}
}

// TestHTTPConnect: the same port serves HTTP CONNECT, the proxy AWS's device SDKs support.
func TestHTTPConnect(t *testing.T) {
	s, err := Listen("127.0.0.1:0", map[string]string{"443": echo(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	connect := func(target string) (net.Conn, *bufio.Reader, string) {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// The bytes after the request arrive with it, before the answer.
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nping", target, target)
		br := bufio.NewReader(c)
		status, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if _, err := br.ReadString('\n'); err != nil { // the empty line
			t.Fatal(err)
		}
		return c, br, status
	}
	c, br, status := connect("abc-ats.iot.us-east-1.amazonaws.com:443")
	defer c.Close()
	if status != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("status %q", status)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Fatalf("tunnel echoed %q, %v", got, err)
	}
	c2, _, status := connect("example.com:80")
	defer c2.Close()
	if status != "HTTP/1.1 403 Forbidden\r\n" {
		t.Errorf("a port with no listener: %q, want 403", status)
	}
}

func TestProxyRefusesOtherVersionsAndCommands(t *testing.T) {
	s, err := Listen("127.0.0.1:0", map[string]string{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := net.Dial("tcp", s.Addr().String())
	defer c.Close()
	c.Write([]byte{4, 1, 0, 80, 127, 0, 0, 1, 0}) // SOCKS4
	if n, _ := io.ReadFull(c, make([]byte, 1)); n != 0 {
		t.Error("SOCKS4 request answered")
	}
}
