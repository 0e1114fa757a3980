package lambdarunner

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestExecutableEnforcesMemorySize: a function that touches more memory than its memory size
// is killed and the invocation fails as Lambda reports it; one within its size is not, and
// the next invocation runs on a fresh instance.
func TestExecutableEnforcesMemorySize(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memory is enforced where /proc tells a process's resident memory")
	}
	e := newTestExecutable(t, ExecutableConfig{MemoryMB: 128})
	if r := run(e, fmt.Sprintf(`{"do":"alloc","bytes":%d}`, 32<<20)); r.err != nil {
		t.Fatalf("32 MB in 128 MB: %v", r.err)
	}
	r := run(e, fmt.Sprintf(`{"do":"alloc","bytes":%d}`, 600<<20))
	fe := wantFunctionError(t, r.err, ErrorTypeOutOfMemory)
	if !strings.HasPrefix(fe.Message, "RequestId: "+r.inv.RequestID+" Error: Runtime exited with error: signal: killed") {
		t.Errorf("message %q", fe.Message)
	}
	if !r.log.has(fe.Message + "\n" + ErrorTypeOutOfMemory) { // AWS: the message, then the type
		t.Errorf("log %q lacks Lambda's error lines", r.log.lines)
	}
	if r.inv.MaxMemoryUsedMB != 128 {
		t.Errorf("Max Memory Used %d MB, want the memory size", r.inv.MaxMemoryUsedMB)
	}
	if r := run(e, `{"do":"echo"}`); r.err != nil || !r.inv.ColdStart {
		t.Fatalf("the invocation after: %v, cold start %v", r.err, r.inv.ColdStart)
	}

	// Through a Function, the REPORT line says so too.
	var mu sync.Mutex
	var lines []string
	f, err := NewFunction(FunctionConfig{Name: "probe", Runtime: e, MemoryMB: 128, Log: func(l LogLine) {
		mu.Lock()
		lines = append(lines, l.Text)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Invoke(context.Background(), fmt.Appendf(nil, `{"do":"alloc","bytes":%d}`, 600<<20)); err == nil {
		t.Fatal("no error")
	}
	mu.Lock()
	defer mu.Unlock()
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "REPORT ") || !strings.HasSuffix(last, "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory") {
		t.Errorf("REPORT line %q", last)
	}
}
