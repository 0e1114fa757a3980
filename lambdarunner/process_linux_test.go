package lambdarunner

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// TestFunctionProcessesDieWithAKilledEmulator: an emulator killed with SIGKILL runs no Close.
// Its instances die with it (Pdeathsig); what they forked survives until the next emulator
// starts and reaps it.
func TestFunctionProcessesDieWithAKilledEmulator(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	emu := exec.Command(self)
	emu.Env = append(os.Environ(), helperEnv+"="+probeBinary(t))
	emu.Stderr = os.Stderr
	stdout, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	var a struct{ PID, Child int }
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err := json.Unmarshal(line, &a); err != nil || a.PID == 0 || a.Child == 0 {
		_ = emu.Process.Kill()
		_ = emu.Wait()
		t.Fatalf("the stand-in emulator answered %q: %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(a.Child, syscall.SIGKILL) })
	if err := emu.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = emu.Wait()

	waitFor(t, "the instance to die with its emulator", func() bool { return processGone(a.PID) })
	if processGone(a.Child) {
		t.Skip("the forked process died too: nothing is left to reap here")
	}
	n, err := ReapOrphans()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the forked process to be reaped", func() bool { return processGone(a.Child) })
	if n < 1 {
		t.Errorf("ReapOrphans reported %d processes", n)
	}
}

// TestReapOrphansSparesLiveEmulators: the processes of an emulator that still runs (here,
// this test) are not touched.
func TestReapOrphansSparesLiveEmulators(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), supervisorEnviron()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitFor(t, "the environment to be readable", func() bool { return supervisorOf(cmd.Process.Pid) != "" })
	if _, err := ReapOrphans(); err != nil {
		t.Fatal(err)
	}
	if processGone(cmd.Process.Pid) {
		t.Fatal("a process of a running emulator was killed")
	}
}
