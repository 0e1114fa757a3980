package lambdarunner

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"time"
)

// openStatus opens /proc/PID/status (Linux) to read the process's peak memory from; nil
// elsewhere.
func openStatus(pid int) *os.File {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	return f
}

// peakMemoryMB is the peak resident memory (VmHWM) in status, an open /proc/PID/status; 0 when
// unknown.
func peakMemoryMB(status *os.File) int { return statusMB(status, "VmHWM:") }

// residentMB is the resident memory (VmRSS) in status now; 0 when unknown.
func residentMB(status *os.File) int { return statusMB(status, "VmRSS:") }

// statusMB reads one kB field of an open /proc/PID/status, in MB rounded up; 0 when unknown.
func statusMB(status *os.File, field string) int {
	if status == nil {
		return 0
	}
	var buf [4096]byte
	n, err := status.ReadAt(buf[:], 0) // procfs regenerates the file at offset 0
	if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return 0
	}
	_, v, ok := bytes.Cut(buf[:n], []byte(field))
	if !ok {
		return 0
	}
	v, _, _ = bytes.Cut(v, []byte(" kB"))
	kb, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil {
		return 0
	}
	return (kb + 1023) / 1024
}

// memoryPoll is how often an instance's resident memory is compared with its memory size.
// Between two looks a function can allocate past the size by what it touches in that time
// (tens of MB at most).
const memoryPoll = 5 * time.Millisecond

// watchMemory enforces the function's memory size on the instance, as Lambda's sandbox does:
// once the process's resident memory passes MemoryMB, its process group is killed with
// SIGKILL, and the invocation fails as Runtime.OutOfMemory. It returns when the process has
// exited. Where there is no /proc (not Linux), memory is not enforced.
//
// The emulator cannot use what Lambda uses: a memory cgroup needs privileges it seldom has,
// and RLIMIT_AS counts address space that Go and Node.js runtimes reserve without using
// (a Go program reserves far more than 128 MB), so resident memory is watched instead.
func (in *execInstance) watchMemory(limitMB int) {
	if in.status == nil {
		return
	}
	tick := time.NewTicker(memoryPoll)
	defer tick.Stop()
	for {
		select {
		case <-in.dead:
			return
		case <-tick.C:
		}
		if mb := residentMB(in.status); mb > limitMB {
			in.e.mu.Lock()
			if !in.gone {
				in.outOfMemory = true
				in.killLocked()
			}
			in.e.mu.Unlock()
			return
		}
	}
}
