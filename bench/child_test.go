//go:build linux || darwin

package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary becomes a load generator, instead of running tests, when started by a
// benchmark with these variables set: the connecting clients then live in another process
// than the server, whose CPU time and memory are measured.
const (
	childModeEnv   = "IOTEMU_BENCH_CHILD"  // "connect" or "idle"
	childTargetEnv = "IOTEMU_BENCH_TARGET" // the target, as JSON
	childCountEnv  = "IOTEMU_BENCH_COUNT"  // how many connections
)

// connectors is how many connections are opened concurrently: enough to keep the server
// busy on this machine's cores while each client waits for its answers.
const connectors = 8

// readyLine is what an idle child prints once every connection is open.
const readyLine = "ready"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		if err := runChild(mode); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild is the load generator. In "connect" mode it connects and disconnects COUNT times
// and exits. In "idle" mode it opens COUNT connections, prints readyLine, and holds them open
// and silent until its standard input is closed.
func runChild(mode string) error {
	var t target
	if err := json.Unmarshal([]byte(os.Getenv(childTargetEnv)), &t); err != nil {
		return fmt.Errorf("%s: %w", childTargetEnv, err)
	}
	n, err := strconv.Atoi(os.Getenv(childCountEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", childCountEnv, err)
	}
	c, err := newClient(t)
	if err != nil {
		return err
	}
	switch mode {
	case "pubsub":
		return runPubSub(c)
	case "connect":
		return forEach(n, func(i int) error { return c.connectOnce(clientID(i)) })
	case "idle":
		if err := raiseFileLimit(n + 64); err != nil {
			return err
		}
		conns := make([]*tls.Conn, n)
		defer func() {
			for _, conn := range conns {
				if conn != nil {
					conn.Close()
				}
			}
		}()
		err := forEach(n, func(i int) error {
			var err error
			conns[i], err = c.connect(clientID(i))
			return err
		})
		if err != nil {
			return err
		}
		fmt.Println(readyLine)
		_, err = io.Copy(io.Discard, os.Stdin)
		return err
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func clientID(i int) string { return "bench-" + strconv.Itoa(i) }

// forEach calls fn(0) … fn(n-1) from connectors goroutines and returns the first error, after
// which no new call starts.
func forEach(n int, fn func(int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range connectors {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= n || first != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// child is a load generator process running this test binary in a child mode.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

// startChild starts a load generator against t; it is killed at the end of the test if it is
// still running.
func startChild(tb testing.TB, mode string, t target, n int) *child {
	tb.Helper()
	j, err := json.Marshal(t)
	if err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	c.cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childTargetEnv+"="+string(j), childCountEnv+"="+strconv.Itoa(n))
	c.cmd.Stderr = &c.stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c.stdout = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if c.cmd.ProcessState == nil { // not waited for: the benchmark failed first
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// waitReady waits for an idle child's readyLine.
func (c *child) waitReady(timeout time.Duration) error {
	line := make(chan string, 1)
	go func() {
		s, _ := c.stdout.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != readyLine+"\n" {
			return fmt.Errorf("load generator did not get ready (%q): %w", s, c.stop())
		}
		return nil
	case <-time.After(timeout):
		c.cmd.Process.Kill()
		return fmt.Errorf("load generator not ready after %s: %w", timeout, c.stop())
	}
}

// stop closes the child's standard input, which ends it, and waits for it to exit.
func (c *child) stop() error {
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("%w: %s", err, c.stderr.Bytes())
	}
	return nil
}

// processCPU returns the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err) // cannot fail for RUSAGE_SELF
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit raises the soft limit on open files to at least n, up to the hard limit.
func raiseFileLimit(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= uint64(n) {
		return nil
	}
	if lim.Max < uint64(n) {
		return fmt.Errorf("%d connections need %d open files; the hard limit is %d (raise it with ulimit -Hn)", n, n, lim.Max)
	}
	lim.Cur = uint64(n)
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
