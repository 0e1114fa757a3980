//go:build linux || darwin

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
)

// memoryEnv must be 1 for TestMemoryPerConnection to run; memoryConnsEnv overrides how many
// connections it opens; memoryProfileEnv names a directory where it writes, for each server
// measured in-process, the heap profile (heap-SERVER.pprof) and the goroutines' stacks
// (goroutine-SERVER.txt) taken while the connections are open.
const (
	memoryEnv        = "IOTEMU_BENCH_MEMORY"
	memoryConnsEnv   = "IOTEMU_BENCH_CONNS"
	memoryProfileEnv = "IOTEMU_BENCH_PROFILE"
)

// TestMemoryPerConnection measures the memory a server holds for each idle authenticated
// connection: heap in use plus goroutine stacks after a forced GC, and the process's resident
// set (the only figure for mosquitto, which runs in its own process; for the Go servers also
// once the runtime has returned its free pages), before and after a child
// process opens 10,000 connections (MQTT 3.1.1, keep-alive 1200 s, so they stay silent), divided
// by the number of connections. The clients live in the child, so none of their memory is
// counted; kernel socket buffers are not Go memory and are not counted either. For the
// emulator it gives the figure with the in-memory log as the connects left it, and again after
// Logs().Reset(), which is the connections' own state.
//
// It opens 20,000 sockets and takes tens of seconds, so it runs only when
// IOTEMU_BENCH_MEMORY=1. A server measured after another one in the same process reuses the
// heap the first one left, and looks smaller: scripts/bench runs each in its own process.
func TestMemoryPerConnection(t *testing.T) {
	if os.Getenv(memoryEnv) != "1" {
		t.Skip("set " + memoryEnv + "=1 to measure the memory per idle connection (opens 10,000 connections)")
	}
	n := 10000
	if v := os.Getenv(memoryConnsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("%s=%q is not a positive number", memoryConnsEnv, v)
		}
	}
	if err := raiseFileLimit(n + 256); err != nil {
		t.Fatal(err)
	}
	if os.Getenv(memoryProfileEnv) != "" {
		runtime.MemProfileRate = 1 // every allocation, so that a connection's few bytes show
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			tg, emu := s.start(t)
			c, err := newClient(tg)
			if err != nil {
				t.Fatal(err)
			}
			idle := runtime.NumGoroutine()
			// Warm up what every server sets up lazily (TLS state, pools, the authorizer).
			for i := range connectors {
				if err := c.connectOnce("warm-" + strconv.Itoa(i)); err != nil {
					t.Fatal(err)
				}
			}
			waitGoroutines(t, "the warm-up connections to end", func(g int) bool { return g <= idle })
			if emu != nil {
				emu.Logs().Reset()
			}
			if pid, ok := externalPIDs.Load(tg.Addr); ok { // mosquitto: its process's RSS only
				before := pidRSS(pid.(int))
				load := startChild(t, "idle", tg, n)
				if err := load.waitReady(5 * time.Minute); err != nil {
					t.Fatal(err)
				}
				t.Logf("MEMORY server=%s conns=%d rss/conn=%d", s.name, n, (int64(pidRSS(pid.(int)))-int64(before))/int64(n))
				if err := load.stop(); err != nil {
					t.Fatal(err)
				}
				return
			}
			before := measure()
			load := startChild(t, "idle", tg, n)
			if err := load.waitReady(5 * time.Minute); err != nil {
				t.Fatal(err)
			}
			// CONNACK leaves before the server's goroutines settle; wait until each connection
			// has its two (the reader that handled CONNECT, and mochi's writer).
			waitGoroutines(t, "two goroutines per connection", func(g int) bool { return g >= idle+2*n })
			after := measure()
			t.Logf("MEMORY server=%s conns=%d goroutines/conn=%.2f %s", s.name, n, float64(runtime.NumGoroutine()-idle)/float64(n), after.perConn(before, n))
			if dir := os.Getenv(memoryProfileEnv); dir != "" {
				if err := writeProfiles(dir, s.name); err != nil {
					t.Fatal(err)
				}
			}
			if emu != nil {
				emu.Logs().Reset()
				t.Logf("MEMORY server=%s-without-log conns=%d %s", s.name, n, measure().perConn(before, n))
			}
			if err := load.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// waitGoroutines waits up to a minute for the number of goroutines to satisfy ok.
func waitGoroutines(t *testing.T, what string, ok func(int) bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(runtime.NumGoroutine()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s; %d goroutines", what, runtime.NumGoroutine())
		}
	}
}

// writeProfiles writes the heap profile and the goroutines' stacks into dir, named after the
// server.
func writeProfiles(dir, name string) error {
	for _, p := range []struct {
		profile, file string
		debug         int
	}{{"heap", "heap-" + name + ".pprof", 0}, {"goroutine", "goroutine-" + name + ".txt", 1}} {
		f, err := os.Create(filepath.Join(dir, p.file))
		if err != nil {
			return err
		}
		err = pprof.Lookup(p.profile).WriteTo(f, p.debug)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write the %s profile: %w", p.profile, err)
		}
	}
	return nil
}

// memory is a reading of the memory that grows with connections: Go's figures and the
// process's resident set.
type memory struct {
	heapInuse, heapAlloc, stackInuse, rss uint64
	// rssReleased is the resident set once the runtime has returned the pages it holds free to
	// the system (debug.FreeOSMemory): what an idle process comes down to over time, as the
	// runtime's scavenger returns them in the background.
	rssReleased uint64
	// stackStart is the size the runtime gives a new goroutine's stack, from the average stack
	// in use at the last collection: mochi's writer goroutine starts at it.
	stackStart uint64
}

// measure forces a full collection and reads the heap and stack figures and the resident set,
// then returns the free pages to the system and reads the resident set again.
func measure() memory {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(start)
	m := memory{heapInuse: ms.HeapInuse, heapAlloc: ms.HeapAlloc, stackInuse: ms.StackInuse, rss: pidRSS(0), stackStart: start[0].Value.Uint64()}
	debug.FreeOSMemory()
	m.rssReleased = pidRSS(0)
	return m
}

// perConn formats the growth since before, divided among n connections.
func (m memory) perConn(before memory, n int) string {
	per := func(after, before uint64) int64 { return (int64(after) - int64(before)) / int64(n) }
	return "bytes/conn=" + strconv.FormatInt(per(m.heapInuse+m.stackInuse, before.heapInuse+before.stackInuse), 10) +
		" heapInuse/conn=" + strconv.FormatInt(per(m.heapInuse, before.heapInuse), 10) +
		" heapAlloc/conn=" + strconv.FormatInt(per(m.heapAlloc, before.heapAlloc), 10) +
		" stackInuse/conn=" + strconv.FormatInt(per(m.stackInuse, before.stackInuse), 10) +
		" rss/conn=" + strconv.FormatInt(per(m.rss, before.rss), 10) +
		" rss-released/conn=" + strconv.FormatInt(per(m.rssReleased, before.rssReleased), 10) +
		" stack-start=" + strconv.FormatUint(m.stackStart, 10)
}
