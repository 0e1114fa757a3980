package emulator

import "testing"

// NewTest starts an emulator for a test and closes it when the test ends. A failure to start
// fails the test.
func NewTest(t testing.TB, cfg Config) *Emulator {
	t.Helper()
	e, err := Start(cfg, Options{})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
