//go:build !linux

package lambdarunner

import "syscall"

// processGroupAttr puts a new instance in a process group of its own, so that killGroup kills
// whatever it forks too. Only Linux can tie an instance's life to the emulator's.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// supervisorEnviron marks nothing where ReapOrphans cannot read other processes' environments.
func supervisorEnviron() []string { return nil }

// ReapOrphans does nothing outside Linux, where it cannot find a process's marks.
func ReapOrphans() (int, error) { return 0, nil }
