package scenarios

import (
	"context"
	"strings"
	"testing"
)

// Run runs the scenario files at path (a file, or a directory of them) from a Go test, each
// scenario a parallel subtest named after it. A scenario that fails fails its subtest with
// its report: each step, and the emulator's log.
func Run(t *testing.T, path string) {
	t.Helper()
	scs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	runner := &Runner{}
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			r := runner.RunOne(context.Background(), sc)
			var report strings.Builder
			_ = WriteReport(&report, r) // a strings.Builder does not fail
			if !r.Passed() {
				t.Error(report.String())
				return
			}
			t.Log(report.String())
		})
	}
}
