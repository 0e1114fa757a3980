package lambdarunner

import (
	"syscall"
)

// killGroup kills the process group of pid with SIGKILL.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
