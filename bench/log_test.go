//go:build linux || darwin

package bench

import (
	"io"
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
			connects(b, tg)
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
			serverConnects(b, tg)
		})
	}
}
