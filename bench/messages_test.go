//go:build linux || darwin

package bench

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/internal/certs"
)

// mosquittoPath is Debian's broker, the third side of the message-path comparison.
const mosquittoPath = "/usr/sbin/mosquitto"

// messageCases are the message-path measurements: QoS 0 and 1, ten pairs and a fan-out of
// one publisher to 50 subscribers, at the highest rate and at a fixed rate.
func messageCases(d time.Duration) []pubsubCase {
	var cases []pubsubCase
	for _, rate := range []int{0, 2000} {
		for _, qos := range []byte{0, 1} {
			mode := "max"
			if rate > 0 {
				mode = strconv.Itoa(rate) + "/s"
			}
			cases = append(cases,
				pubsubCase{Name: fmt.Sprintf("QoS%d 10x10 %s", qos, mode), QoS: qos, Pubs: 10, Subs: 10, Rate: rate, Duration: d},
				pubsubCase{Name: fmt.Sprintf("QoS%d 1x50 %s", qos, mode), QoS: qos, Pubs: 1, Subs: 50, Fanout: true, Rate: rate / 50, Duration: d})
		}
	}
	return cases
}

// TestMessagePath measures delivered messages per second, server CPU per delivery and
// latency for the emulator (as `iotemu serve` runs it: text log on), bare mochi with the same
// TLS and queue settings, and mosquitto with TLS, all driven by the same load generator in a
// child process, rounds interleaved. It runs only when IOTEMU_BENCH_MESSAGES=1 (scripts/bench).
// IOTEMU_BENCH_CASES (a regular expression on the case names) and IOTEMU_BENCH_SERVERS (a
// comma-separated list of emulator, mochi, mosquitto) narrow it, say to profile one case.
func TestMessagePath(t *testing.T) {
	if os.Getenv("IOTEMU_BENCH_MESSAGES") != "1" {
		t.Skip("set IOTEMU_BENCH_MESSAGES=1 to measure the message path (scripts/bench does)")
	}
	rounds, _ := strconv.Atoi(os.Getenv("IOTEMU_BENCH_ROUNDS"))
	if rounds == 0 {
		rounds = 3
	}
	d := 2 * time.Second
	cases := messageCases(d)
	if expr := os.Getenv("IOTEMU_BENCH_CASES"); expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("IOTEMU_BENCH_CASES: %v", err)
		}
		cases = slices.DeleteFunc(cases, func(pc pubsubCase) bool { return !re.MatchString(pc.Name) })
	}
	only := os.Getenv("IOTEMU_BENCH_SERVERS")
	type side struct {
		name string
		t    target
	}
	var sides []side
	for _, s := range servers {
		if s.name == "executable" || s.name == "x509" { // the emulator's message path again
			continue
		}
		if only != "" && !slices.Contains(strings.Split(only, ","), s.name) {
			continue
		}
		if s.name == "mosquitto" {
			if _, err := os.Stat(mosquittoPath); err != nil {
				t.Logf("mosquitto left out: %v", err)
				continue
			}
		}
		tg, _ := s.start(t)
		sides = append(sides, side{s.name, tg})
	}
	type key struct{ c, side string }
	results := map[key][]pubsubResult{}
	cpus := map[key][]float64{}
	for r := 1; r <= rounds; r++ {
		for _, pc := range cases {
			for _, side := range sides {
				before := serverCPU(side.t)
				res, err := runCase(t, side.t, pc)
				if err != nil {
					t.Fatalf("%s %s: %v", side.name, pc.Name, err)
				}
				cpu := serverCPU(side.t) - before
				perDelivery := float64(cpu.Microseconds()) / float64(max(res.Delivered, 1))
				k := key{pc.Name, side.name}
				results[k] = append(results[k], res)
				cpus[k] = append(cpus[k], perDelivery)
				// published/s times the subscribers per topic is what a server that drops nothing
				// would deliver.
				fmt.Printf("MSG round=%d case=%q server=%s published/s=%.0f delivered/s=%.0f cpu-us/delivery=%.2f p50-us=%.0f p99-us=%.0f load=%s\n",
					r, pc.Name, side.name, float64(res.Published)/res.Seconds, float64(res.Delivered)/res.Seconds, perDelivery, res.P50us, res.P99us, loadAverage())
			}
		}
	}

	fmt.Println("\nratios over rounds, min / median / max (load average now:", loadAverage()+")")
	for _, pc := range cases {
		em, mo, mq := results[key{pc.Name, "emulator"}], results[key{pc.Name, "mochi"}], results[key{pc.Name, "mosquitto"}]
		if len(em) == 0 || len(mo) == 0 {
			continue // a side left out: no ratio
		}
		rate := func(a, b []pubsubResult) func(int) float64 {
			return func(i int) float64 {
				return (float64(a[i].Delivered) / a[i].Seconds) / (float64(b[i].Delivered) / b[i].Seconds)
			}
		}
		// Each target is judged on the median of the per-round ratios.
		line := fmt.Sprintf("%-16s", pc.Name)
		var met []bool
		if pc.Rate == 0 {
			line += " delivered/s emulator/mochi " + spread(len(mo), rate(em, mo))
			met = append(met, median(len(mo), rate(em, mo)) >= 0.9)
			if len(mq) > 0 {
				line += ", emulator/mosquitto " + spread(len(mq), rate(em, mq))
				met = append(met, median(len(mq), rate(em, mq)) >= 1)
			}
			ec, mc := cpus[key{pc.Name, "emulator"}], cpus[key{pc.Name, "mochi"}]
			cpu := func(i int) float64 { return ec[i] / mc[i] }
			line += "; CPU per delivery emulator/mochi " + spread(len(mc), cpu)
			met = append(met, median(len(mc), cpu) <= 1.3)
			line += " (targets: >= 0.9x mochi, >= mosquitto, CPU <= 1.3x: " + verdict(met) + ")"
		} else {
			p99 := func(i int) float64 { return em[i].P99us / mo[i].P99us }
			line += " p99 emulator/mochi " + spread(len(mo), p99)
			met = append(met, median(len(mo), p99) <= 1.5)
			if len(mq) > 0 {
				line += ", emulator/mosquitto " + spread(len(mq), func(i int) float64 { return em[i].P99us / mq[i].P99us })
			}
			line += fmt.Sprintf(" (p50/p99 us, last round: emulator %.0f/%.0f, mochi %.0f/%.0f; target p99 <= 1.5x mochi: %s)",
				em[rounds-1].P50us, em[rounds-1].P99us, mo[rounds-1].P50us, mo[rounds-1].P99us, verdict(met))
		}
		fmt.Println(line)
	}
}

// median returns the median of ratio(0) … ratio(n-1).
func median(n int, ratio func(int) float64) float64 {
	v := sorted(n, ratio)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// verdict says MET when every judgement is true, else MISSED.
func verdict(met []bool) string {
	if slices.Contains(met, false) {
		return "MISSED"
	}
	return "MET"
}

// spread formats the minimum, median and maximum of ratio(0) … ratio(n-1).
func spread(n int, ratio func(int) float64) string {
	v := sorted(n, ratio)
	return fmt.Sprintf("%.2f / %.2f / %.2f", v[0], median(n, ratio), v[n-1])
}

// sorted returns ratio(0) … ratio(n-1) in increasing order.
func sorted(n int, ratio func(int) float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = ratio(i)
	}
	slices.Sort(v)
	return v
}

// runCase runs one load generator for pc against t and returns its result.
func runCase(tb testing.TB, t target, pc pubsubCase) (pubsubResult, error) {
	j, err := json.Marshal(pc)
	if err != nil {
		return pubsubResult{}, err
	}
	tb.Setenv(childCaseEnv, string(j))
	c := startChild(tb, "pubsub", t, 0)
	line, err := c.stdout.ReadString('\n')
	if serr := c.stop(); serr != nil {
		return pubsubResult{}, serr
	}
	if err != nil {
		return pubsubResult{}, fmt.Errorf("read the load generator's result: %w", err)
	}
	var res pubsubResult
	return res, json.Unmarshal([]byte(line), &res)
}

// startMosquittoServer is startMosquitto for the servers list: it skips where mosquitto is not
// installed.
func startMosquittoServer(tb testing.TB) (target, *emulator.Emulator) {
	tb.Helper()
	tg, err := startMosquitto(tb)
	if err != nil {
		tb.Skipf("mosquitto: %v", err)
	}
	return tg, nil
}

// externalPIDs maps the address of a server running in its own process (mosquitto) to its
// process ID, so that its CPU time and memory are read from that process.
var externalPIDs sync.Map

// serverCPU returns the CPU time used so far by the server behind t: this process for the
// servers it runs, the server's own process for mosquitto.
func serverCPU(t target) time.Duration {
	if pid, ok := externalPIDs.Load(t.Addr); ok {
		return pidCPU(pid.(int))
	}
	return processCPU()
}

// startMosquitto starts Debian's mosquitto with a TLS listener on a free loopback port, a
// certificate from the same CA code as the other two servers, TCP_NODELAY (off by default in
// mosquitto) and anonymous access.
func startMosquitto(tb testing.TB) (target, error) {
	if _, err := os.Stat(mosquittoPath); err != nil {
		return target{}, err
	}
	ca, err := certs.NewCA()
	if err != nil {
		return target{}, err
	}
	cert, err := ca.Issue([]string{serverName}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return target{}, err
	}
	// Readable by all: mosquitto started as root reads them as its own user. The key is a
	// throwaway one for this run.
	dir, err := os.MkdirTemp("", "iotemu-mosquitto-")
	if err != nil {
		return target{}, err
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return target{}, err
	}
	if err := writeKeyPair(dir, cert); err != nil {
		return target{}, err
	}
	// mosquitto cannot listen on port 0: take a free port and give it back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf("per_listener_settings false\nallow_anonymous true\nset_tcp_nodelay true\nlistener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n",
		port, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		return target{}, err
	}
	cmd := exec.Command(mosquittoPath, "-c", filepath.Join(dir, "mosquitto.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return target{}, err
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return target{}, fmt.Errorf("mosquitto does not listen on %s: %w\n%s", addr, err, out.Bytes())
		}
	}
	externalPIDs.Store(addr, cmd.Process.Pid)
	return target{Addr: addr, ServerName: serverName, CAPEM: string(ca.PEM()), Username: "bench"}, nil
}

// writeKeyPair writes cert's chain and key as cert.pem and key.pem in dir.
func writeKeyPair(dir string, cert tls.Certificate) error {
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), chain, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o644)
}

// pidRSS returns the resident memory of process pid (0: this process), in bytes; 0 where
// /proc is not available.
func pidRSS(pid int) uint64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// pidCPU returns the CPU time (user and system) process pid has used.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and stime are 14 and 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks: 100 per second on Linux
}

// loadAverage returns the one-minute load average.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
