//go:build unix

package connlimit

import "syscall"

// DefaultMax is the pending bound of a listener: an eighth of the process's descriptor limit
// (RLIMIT_NOFILE), between 16 and 4096, so that five flooded listeners still leave devices,
// functions and log files more than a third of the descriptors.
func DefaultMax() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 128
	}
	return int(min(max(rl.Cur/8, 16), 4096))
}
