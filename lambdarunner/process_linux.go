package lambdarunner

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// processGroupAttr puts a new instance in a process group of its own, so that killGroup kills
// whatever it forks too, and asks the kernel to kill it when the emulator dies, even by
// SIGKILL, when no Close runs. (The kernel sends that signal when the thread that started the
// instance ends; Go ends a thread only for a goroutine that locked it, which the emulator
// does not do.) What an instance forks is not covered: ReapOrphans finds it later.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// supervisorEnv marks every process of a function with the emulator that started it, as
// PID/START (START: the emulator's start time in clock ticks since boot, so that a reused
// PID is not mistaken for it). Forked processes inherit it.
const supervisorEnv = "_IOTEMU_SUPERVISOR"

// supervisorEnviron is the marker an instance's environment carries.
func supervisorEnviron() []string { return []string{supervisorEnv + "=" + ownMark()} }

var ownMark = sync.OnceValue(func() string { return processMark(os.Getpid()) })

// processMark is PID/START for a running process, "" when it does not run.
func processMark(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// pid (comm) state ppid pgrp ...: comm may hold spaces; starttime is the 22nd field.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return ""
	}
	return strconv.Itoa(pid) + "/" + fields[19]
}

// ReapOrphans kills the processes that functions of emulators no longer running left behind
// (what an instance forked survives an emulator killed with SIGKILL), with their process
// groups, and returns how many processes it killed. Processes of emulators still running are
// left alone. Only the current user's processes can be read, and killed.
func ReapOrphans() (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("lambdarunner: reap orphans: %w", err)
	}
	self := os.Getpid()
	killed := 0
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		mark := supervisorOf(pid)
		if mark == "" || mark == ownMark() {
			continue
		}
		sup, _, _ := strings.Cut(mark, "/")
		if supPID, err := strconv.Atoi(sup); err == nil && processMark(supPID) == mark {
			continue // its emulator still runs
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid > 1 && pgid != syscall.Getpgrp() {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed, nil
}

// supervisorOf returns the supervisor mark in pid's environment, "" when it has none or cannot
// be read.
func supervisorOf(pid int) string {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return ""
	}
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(supervisorEnv+"=")); ok {
			return string(v)
		}
	}
	return ""
}
