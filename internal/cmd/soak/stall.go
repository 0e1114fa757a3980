package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// stall runs 10 publishers at QoS 1 to the topic of a subscriber that stopped reading, and
// prints the longest time a publisher waited for its PUBACK. Target: under 1 s.
func stall(d time.Duration) error {
	s, err := startServer(0)
	if err != nil {
		return err
	}
	defer s.stop()
	const topic = "soak/stall"
	stuck, err := s.stuckSubscriber(topic)
	if err != nil {
		return err
	}
	defer stuck.Close()

	var mu sync.Mutex
	var waits []time.Duration
	failures := 0
	var wg sync.WaitGroup
	payload := make([]byte, 1024)
	end := time.Now().Add(d)
	for i := range 10 {
		c, err := s.device(fmt.Sprintf("publisher-%d", i), nil)
		if err != nil {
			return err
		}
		defer c.Disconnect(0)
		wg.Go(func() {
			for time.Now().Before(end) {
				start := time.Now()
				tok := c.Publish(topic, 1, false, payload)
				ok := tok.WaitTimeout(time.Until(end)+30*time.Second) && tok.Error() == nil
				w := time.Since(start)
				mu.Lock()
				waits = append(waits, w)
				if !ok {
					failures++
				}
				mu.Unlock()
				if !ok {
					return
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(waits)
	fmt.Printf("stall: 10 publishers at QoS 1 beside a subscriber that stopped reading, %s\n", d)
	if len(waits) == 0 {
		fmt.Println("  no publish completed")
		return nil
	}
	fmt.Printf("  publishes %d (failed %d); wait for PUBACK: median %s, p99 %s, longest %s (target < 1s)\n",
		len(waits), failures, pct(waits, 50), pct(waits, 99), waits[len(waits)-1].Round(time.Millisecond))
	return nil
}

// pct returns the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[(len(sorted)-1)*p/100].Round(time.Millisecond)
}
