package emulator

import "testing"

// NewTest starts an emulator for a test and closes it when the test ends. A failure to start
// fails the test.
func NewTest(t testing.TB, cfg Config) *Emulator {
	t.Helper()
	return NewTestWithOptions(t, cfg, Options{})
}

// NewTestWithOptions is NewTest with options, such as a virtual clock:
//
//	emu := emulator.NewTestWithOptions(t, cfg, emulator.Options{Clock: clock.NewVirtual(time.Now())})
//	emu.Advance(301 * time.Second) // the refresh runs now, before Advance returns
func NewTestWithOptions(t testing.TB, cfg Config, opts Options) *Emulator {
	t.Helper()
	e, err := Start(cfg, opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
