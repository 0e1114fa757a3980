//go:build linux || darwin

package bench

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkConnect measures connects per second, one op being a full connect: TCP dial, TLS
// handshake (no resumption), MQTT 3.1.1 CONNECT, CONNACK, DISCONNECT and close. The emulator
// runs custom authentication (signature verification, in-process authorizer, policy parsed and
// compiled, iot:Connect evaluated, events and traces logged); bare mochi runs the allow-all
// hook. Clients and server share this process and its cores, connectors of them at a time;
// cpu-ns/op is the CPU time of both sides per connect.
func BenchmarkConnect(b *testing.B) {
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			tg, _ := s.start(b)
			connects(b, tg)
		})
	}
}

// connects runs BenchmarkConnect's loop against tg and reports it.
func connects(b *testing.B, tg target) {
	c, err := newClient(tg)
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.SetParallelism(max(1, connectors/runtime.GOMAXPROCS(0)))
	cpu := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.connectOnce("bench-" + strconv.FormatInt(seq.Add(1), 10)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	report(b, processCPU()-cpu, "cpu-ns/op")
}

// BenchmarkConnectServerCPU measures the server's CPU time per connect (server-cpu-ns/op),
// the figure that bounds a server's connect rate when clients run elsewhere. The connects are
// BenchmarkConnect's, made by a child process; this process only serves them.
func BenchmarkConnectServerCPU(b *testing.B) {
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			tg, _ := s.start(b)
			serverConnects(b, tg)
		})
	}
}

// serverConnects runs BenchmarkConnectServerCPU's child against tg and reports it.
func serverConnects(b *testing.B, tg target) {
	cpu := processCPU()
	b.ResetTimer()
	if err := startChild(b, "connect", tg, b.N).stop(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	report(b, processCPU()-cpu, "server-cpu-ns/op")
}

// report adds connects/s and the CPU time per connect to a connect benchmark's result.
func report(b *testing.B, cpu time.Duration, cpuUnit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), cpuUnit)
}
