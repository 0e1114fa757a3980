package lambdarunner

import (
	"syscall"
)

// processGroupAttr puts a new process in a process group of its own, so that killGroup kills
// whatever it forks too.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the process group of pid with SIGKILL.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
