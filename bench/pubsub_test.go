//go:build linux || darwin

package bench

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// childCaseEnv carries a pubsubCase, as JSON, to a load generator in "pubsub" mode.
const childCaseEnv = "IOTEMU_BENCH_CASE"

// payloadSize is every benchmark message's payload; its first 8 bytes carry the send time.
const payloadSize = 256

// qos1Window is how many QoS 1 messages each publisher keeps unacknowledged.
const qos1Window = 16

// pubsubCase is one message-path measurement.
type pubsubCase struct {
	Name     string        `json:"name"`
	QoS      byte          `json:"qos"`
	Pubs     int           `json:"pubs"`
	Subs     int           `json:"subs"`
	Fanout   bool          `json:"fanout"` // every subscriber on one topic; else publisher i → subscriber i
	Rate     int           `json:"rate"`   // messages per second published in all; 0: as fast as possible
	Duration time.Duration `json:"duration"`
}

// pubsubResult is what a "pubsub" load generator prints, as one JSON line.
type pubsubResult struct {
	Published int     `json:"published"` // messages the publishers wrote during Duration
	Delivered int     `json:"delivered"` // messages received by subscribers during Duration
	Seconds   float64 `json:"seconds"`
	P50us     float64 `json:"p50us"` // publish-to-receive latency
	P99us     float64 `json:"p99us"`
}

func (pc pubsubCase) topic(i int) string {
	if pc.Fanout {
		return "bench/fan"
	}
	return "bench/" + strconv.Itoa(i)
}

// runPubSub connects the subscribers, then the publishers, publishes for pc.Duration and
// prints a pubsubResult.
func runPubSub(c *client) error {
	var pc pubsubCase
	if err := json.Unmarshal([]byte(os.Getenv(childCaseEnv)), &pc); err != nil {
		return fmt.Errorf("%s: %w", childCaseEnv, err)
	}
	var (
		counting  atomic.Bool
		delivered atomic.Int64
		mu        sync.Mutex
		latencies []int64
		conns     []*tls.Conn
	)
	defer func() {
		for _, conn := range conns {
			conn.Write(disconnectPacket)
			conn.Close()
		}
	}()
	for i := range pc.Subs {
		conn, err := c.connect("bench-s" + strconv.Itoa(i))
		if err != nil {
			return err
		}
		conns = append(conns, conn)
		r := bufio.NewReaderSize(conn, 64<<10)
		if err := subscribe(conn, r, pc.topic(i), pc.QoS); err != nil {
			return err
		}
		go func() {
			var own []int64
			defer func() {
				mu.Lock()
				latencies = append(latencies, own...)
				mu.Unlock()
			}()
			for {
				typ, body, err := readPacket(r)
				if err != nil {
					return
				}
				if typ>>4 != 3 {
					continue
				}
				n := 2 + int(binary.BigEndian.Uint16(body))
				if (typ>>1)&3 > 0 {
					if _, err := conn.Write([]byte{0x40, 2, body[n], body[n+1]}); err != nil {
						return
					}
					n += 2
				}
				if counting.Load() && len(body) >= n+8 {
					delivered.Add(1)
					own = append(own, time.Now().UnixNano()-int64(binary.BigEndian.Uint64(body[n:])))
				}
			}
		}()
	}
	pubs := make([]*tls.Conn, pc.Pubs)
	for i := range pubs {
		conn, err := c.connect("bench-p" + strconv.Itoa(i))
		if err != nil {
			return err
		}
		conns = append(conns, conn)
		pubs[i] = conn
	}
	start := time.Now()
	end := start.Add(pc.Duration)
	counting.Store(true)
	var wg sync.WaitGroup
	errs := make(chan error, pc.Pubs)
	var published atomic.Int64
	for i, conn := range pubs {
		wg.Go(func() {
			n, err := publishUntil(conn, pc, i, end)
			published.Add(int64(n))
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	counting.Store(false)
	elapsed := time.Since(start)
	n := delivered.Load()
	for _, conn := range conns { // ends the subscribers' readers
		conn.Write(disconnectPacket)
		conn.Close()
	}
	conns = nil
	time.Sleep(50 * time.Millisecond) // the readers hand in their latencies
	select {
	case err := <-errs:
		return err
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	res := pubsubResult{Published: int(published.Load()), Delivered: int(n), Seconds: elapsed.Seconds(), P50us: percentile(latencies, 0.50), P99us: percentile(latencies, 0.99)}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func percentile(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))]) / 1e3
}

// publishUntil publishes on publisher i's topic until end, at its share of pc.Rate or as
// fast as the connection (and, for QoS 1, its window of unacknowledged messages) allows, and
// returns how many messages it wrote.
func publishUntil(conn *tls.Conn, pc pubsubCase, i int, end time.Time) (sent int, err error) {
	topic := pc.topic(i)
	w := bufio.NewWriterSize(conn, 64<<10)
	var window chan struct{}
	if pc.QoS > 0 {
		window = make(chan struct{}, qos1Window)
		go func() { // PUBACKs free the window
			r := bufio.NewReader(conn)
			for {
				typ, _, err := readPacket(r)
				if err != nil {
					return
				}
				if typ>>4 == 4 {
					<-window
				}
			}
		}()
	}
	var interval time.Duration
	if pc.Rate > 0 {
		interval = time.Duration(pc.Pubs) * time.Second / time.Duration(pc.Rate)
	}
	next := time.Now()
	for id := uint16(1); time.Now().Before(end); id++ {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				if err := w.Flush(); err != nil {
					return sent, err
				}
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		if window != nil {
			select {
			case window <- struct{}{}:
			case <-time.After(time.Until(end)):
				return sent, w.Flush()
			}
			if id == 0 {
				id = 1
			}
		}
		if _, err := w.Write(publishPacket(topic, pc.QoS, id)); err != nil {
			return sent, err
		}
		sent++
		if interval > 0 || window != nil && len(window) == cap(window) {
			if err := w.Flush(); err != nil {
				return sent, err
			}
		}
	}
	return sent, w.Flush()
}

// publishPacket encodes a PUBLISH whose payload starts with the send time.
func publishPacket(topic string, qos byte, id uint16) []byte {
	body := appendString(nil, topic)
	if qos > 0 {
		body = binary.BigEndian.AppendUint16(body, id)
	}
	body = binary.BigEndian.AppendUint64(body, uint64(time.Now().UnixNano()))
	body = append(body, make([]byte, payloadSize-8)...)
	return append(appendLength([]byte{0x30 | qos<<1}, len(body)), body...)
}

// subscribe sends a SUBSCRIBE for filter and waits for a SUBACK that grants it.
func subscribe(conn *tls.Conn, r *bufio.Reader, filter string, qos byte) error {
	body := append(appendString([]byte{0, 1}, filter), qos)
	if _, err := conn.Write(append(appendLength([]byte{0x82}, len(body)), body...)); err != nil {
		return err
	}
	typ, ack, err := readPacket(r)
	if err != nil {
		return fmt.Errorf("read SUBACK: %w", err)
	}
	if typ>>4 != 9 || len(ack) != 3 || ack[2] >= 0x80 {
		return fmt.Errorf("SUBSCRIBE %s refused: % x", filter, ack)
	}
	return nil
}

// readPacket reads one MQTT packet: its first byte and its body.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(b&0x7f) << shift
		if b < 0x80 {
			break
		}
		shift += 7
	}
	body := make([]byte, n)
	_, err = io.ReadFull(r, body)
	return typ, body, err
}

// appendLength appends MQTT's variable-length remaining length.
func appendLength(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
