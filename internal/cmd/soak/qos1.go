package main

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// qos1 connects n clients, each subscribed at QoS 1 to its own topic, publishing to it every
// interval for d, and prints what was sent, acknowledged, received and lost (acknowledged
// but never received).
func qos1(n int, d, interval time.Duration) error {
	s, err := startServer(0)
	if err != nil {
		return err
	}
	defer s.stop()

	type client struct {
		c        mqtt.Client
		mu       sync.Mutex
		received map[int]bool
		acked    map[int]bool
	}
	clients := make([]*client, n)
	var connectFailed atomic.Int64
	connectStart := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		cl := &client{received: map[int]bool{}, acked: map[int]bool{}}
		clients[i] = cl
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			topic := "soak/q/" + strconv.Itoa(i)
			c, err := s.device("q-"+strconv.Itoa(i), func(_ mqtt.Client, m mqtt.Message) {
				seq, err := strconv.Atoi(string(m.Payload()))
				if err == nil {
					cl.mu.Lock()
					cl.received[seq] = true
					cl.mu.Unlock()
				}
			})
			if err != nil {
				connectFailed.Add(1)
				return
			}
			if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				connectFailed.Add(1)
				c.Disconnect(0)
				return
			}
			cl.c = c
		})
	}
	wg.Wait()
	connectTime := time.Since(connectStart)

	var sent, failed atomic.Int64
	end := time.Now().Add(d)
	for i, cl := range clients {
		if cl.c == nil {
			continue
		}
		topic := "soak/q/" + strconv.Itoa(i)
		wg.Go(func() {
			// Spread the clients over the interval.
			time.Sleep(time.Duration(i) * interval / time.Duration(n))
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for seq := 0; time.Now().Before(end); seq++ {
				tok := cl.c.Publish(topic, 1, false, strconv.Itoa(seq))
				sent.Add(1)
				if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
					cl.mu.Lock()
					cl.acked[seq] = true
					cl.mu.Unlock()
				} else {
					failed.Add(1)
				}
				<-tick.C
			}
		})
	}
	wg.Wait()
	time.Sleep(5 * time.Second) // deliveries in flight
	var acked, received, lost int
	for _, cl := range clients {
		if cl.c == nil {
			continue
		}
		cl.mu.Lock()
		acked += len(cl.acked)
		received += len(cl.received)
		for seq := range cl.acked {
			if !cl.received[seq] {
				lost++
			}
		}
		cl.mu.Unlock()
		cl.c.Disconnect(0)
	}
	fmt.Printf("qos1: %d clients (%d failed to connect or subscribe, all connected in %s), each publishing every %s at QoS 1 to its own topic for %s\n",
		n, connectFailed.Load(), connectTime.Round(time.Millisecond), interval, d)
	fmt.Printf("  sent %d, acknowledged %d (unacknowledged %d), received %d, lost %d (acknowledged, never received)\n",
		sent.Load(), acked, failed.Load(), received, lost)
	return nil
}
