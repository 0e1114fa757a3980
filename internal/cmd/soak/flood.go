package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// flood holds n idle HTTP keep-alive sockets on the 443 role of an emulator limited to nofile
// descriptors and meanwhile tries a fresh device and the admin /health once a second. Target:
// both always succeed, and a device connected before the flood keeps being served. With
// reopen > 0, each socket the emulator closes, or that fails to open, is opened again after
// reopen: a connection-rate flood rather than a flood of held sockets.
func flood(d time.Duration, n int, nofile uint64, reopen time.Duration) error {
	s, err := startServer(nofile)
	if err != nil {
		return err
	}
	defer s.stop()
	before, err := s.device("before-the-flood", nil)
	if err != nil {
		return err
	}
	defer before.Disconnect(0)

	var opened, closedByServer, dialFailed, open, maxOpen atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// again waits reopen before the socket is opened again; false: it is not.
	again := func() bool {
		if reopen <= 0 {
			return false
		}
		select {
		case <-stop:
			return false
		case <-time.After(reopen):
			return true
		}
	}
	for range n {
		wg.Go(func() {
			for {
				c, err := s.idleHTTP()
				if err != nil {
					dialFailed.Add(1)
					if !again() {
						return
					}
					continue
				}
				opened.Add(1)
				if o := open.Add(1); o > maxOpen.Load() {
					maxOpen.Store(o)
				}
				ended := make(chan struct{})
				go func() {
					_, _ = io.Copy(io.Discard, c) // returns when either side closes
					close(ended)
				}()
				select {
				case <-stop:
					c.Close()
					<-ended
					open.Add(-1)
					return
				case <-ended:
					closedByServer.Add(1)
					open.Add(-1)
					c.Close()
					if !again() {
						return
					}
				}
			}
		})
	}

	health := &http.Client{Timeout: 5 * time.Second}
	var fresh, freshOK, healthOK int
	var freshLongest, healthLongest time.Duration
	end := time.Now().Add(d)
	time.Sleep(time.Second) // let the flood build
	for i := 0; time.Now().Before(end); i++ {
		start := time.Now()
		if c, err := s.device(fmt.Sprintf("fresh-%d", i), nil); err == nil {
			freshOK++
			c.Disconnect(0)
		}
		freshLongest = max(freshLongest, time.Since(start))
		fresh++
		start = time.Now()
		if resp, err := health.Get("http://" + s.Admin + "/health"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				healthOK++
			}
		}
		healthLongest = max(healthLongest, time.Since(start))
		time.Sleep(time.Until(start.Add(time.Second)))
	}
	tok := before.Publish("soak/before", 1, false, []byte("still here"))
	beforeOK := tok.WaitTimeout(10*time.Second) && tok.Error() == nil
	close(stop)
	wg.Wait()

	how := "each opened once"
	if reopen > 0 {
		how = fmt.Sprintf("each reopened %s after it closes", reopen)
	}
	fmt.Printf("flood: %d idle HTTP keep-alive sockets (%s) against an emulator limited to %d descriptors, %s\n", n, how, s.NoFile, d)
	fmt.Printf("  flood sockets opened %d, closed by the emulator %d, failed to open %d, most open at once %d\n",
		opened.Load(), closedByServer.Load(), dialFailed.Load(), maxOpen.Load())
	fmt.Printf("  fresh device connected %d/%d (longest %s); /health answered %d/%d (longest %s) (target: always)\n",
		freshOK, fresh, freshLongest.Round(time.Millisecond), healthOK, fresh, healthLongest.Round(time.Millisecond))
	fmt.Printf("  device connected before the flood still served: %v\n", beforeOK)
	return nil
}

// idleHTTP opens a TLS connection without ALPN (HTTP) on the 443 role, makes one keep-alive
// request and returns the connection, now idle.
func (s *server) idleHTTP() (net.Conn, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.MQTT, s.tlsConfig(""))
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", s.Endpoint); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
