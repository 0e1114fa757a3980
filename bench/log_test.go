//go:build linux || darwin

package bench

import (
	"io"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/iotemu/iotemu/emulator"
)

// logCases are the logs BenchmarkConnectLog and BenchmarkConnectLogServerCPU compare.
var logCases = []struct {
	name string
	log  emulator.LogConfig
	out  io.Writer
}{
	{"off", emulator.LogConfig{Format: "off"}, nil},
	{"text", emulator.LogConfig{Format: "text"}, io.Discard},
	{"text-verbose", emulator.LogConfig{Format: "text", Verbose: true}, io.Discard},
	{"text-level-ERROR", emulator.LogConfig{Format: "text", Level: "ERROR"}, io.Discard},
}

// BenchmarkConnectLog is BenchmarkConnect for the emulator with the log as `serve` writes it:
// off (the in-memory log only), the text log on stdout (serve's default, written to
// io.Discard here), the text log with -v (every trace step), and the text log at AWS's
// logging level ERROR (successful connects not logged).
func BenchmarkConnectLog(b *testing.B) {
	for _, tc := range logCases {
		b.Run(tc.name, func(b *testing.B) {
			tg, emu := startWithLog(b, emulatorFunction(), tc.log, tc.out)
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
			b.ReportMetric(float64(emu.LogStats().Dropped), "log-dropped")
		})
	}
}

// BenchmarkConnectLogServerCPU is BenchmarkConnectServerCPU for the logs of
// BenchmarkConnectLog: the server's CPU time per connect, the clients in a child process.
func BenchmarkConnectLogServerCPU(b *testing.B) {
	for _, tc := range logCases {
		b.Run(tc.name, func(b *testing.B) {
			tg, _ := startWithLog(b, emulatorFunction(), tc.log, tc.out)
			cpu := processCPU()
			b.ResetTimer()
			if err := startChild(b, "connect", tg, b.N).stop(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			report(b, processCPU()-cpu, "server-cpu-ns/op")
		})
	}
}
