//go:build linux || darwin

package bench

import (
	"os"
	"testing"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/iotlog"
)

// logCases are the logs BenchmarkConnectLog and BenchmarkConnectLogServerCPU compare: the
// in-memory log only, serve's text log on stdout (the null device here), and the text log at
// AWS's logging level ERROR, where successful connects are not logged.
var logCases = []struct {
	name   string
	text   bool
	levels iotlog.Levels
}{
	{"off", false, iotlog.Levels{}},
	{"text", true, iotlog.Levels{}},
	{"text-level-ERROR", true, iotlog.Levels{Default: iotlog.LevelError}},
}

// startLogged starts the in-process emulator of startEmulator with one of logCases.
func startLogged(b *testing.B, text bool, levels iotlog.Levels) target {
	var opts emulator.Options
	if text {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { devnull.Close() })
		opts.Stdout = devnull
	}
	tg, emu := startWithOptions(b, emulator.Function{Name: "bench-auth", Kind: emulator.KindGo, Handler: authorize}, opts)
	emu.SetLogLevels(levels)
	b.Cleanup(func() {
		if d := emu.LogStats().Dropped; d > 0 {
			b.Logf("the log dropped %d records", d)
		}
	})
	return tg
}

// BenchmarkConnectLog is BenchmarkConnect for the emulator with each of logCases.
func BenchmarkConnectLog(b *testing.B) {
	for _, tc := range logCases {
		b.Run(tc.name, func(b *testing.B) { connects(b, startLogged(b, tc.text, tc.levels)) })
	}
}

// BenchmarkConnectLogServerCPU is BenchmarkConnectServerCPU for the emulator with each of
// logCases: the server's CPU time per connect, the clients in a child process.
func BenchmarkConnectLogServerCPU(b *testing.B) {
	for _, tc := range logCases {
		b.Run(tc.name, func(b *testing.B) { serverConnects(b, startLogged(b, tc.text, tc.levels)) })
	}
}
