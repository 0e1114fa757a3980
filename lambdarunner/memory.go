package lambdarunner

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
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
func peakMemoryMB(status *os.File) int {
	if status == nil {
		return 0
	}
	var buf [4096]byte
	n, err := status.ReadAt(buf[:], 0) // procfs regenerates the file at offset 0
	if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return 0
	}
	_, v, ok := bytes.Cut(buf[:n], []byte("VmHWM:"))
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
