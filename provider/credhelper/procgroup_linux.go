package credhelper

import (
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

func ownProcessGroup(cmd *exec.Cmd) {
	// Pdeathsig: the kernel SIGKILLs the helper when the thread that
	// started it exits, which is when we die (runHelper keeps that thread
	// for the helper's whole life).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killProcessGroup kills the helper and everything it started that stayed
// in its group, so that no grandchild is left holding our pipes.
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// runHelper runs cmd to its end and leaves nothing of it running.
//
// Linux sends the parent-death signal when the *thread* that forked the
// child exits, not the process: Go may otherwise start a child from a
// thread the runtime later ends (a thread whose goroutine exited while
// locked to it), killing a healthy helper. So the goroutine stays locked to
// its thread from start to reaping, and unlocks it (never exits locked), so
// that the thread lives exactly as long as the process does.
//
// The group is killed once the helper has exited but before it is reaped:
// while the helper is a zombie its pid, which is the group's id, cannot be
// reused, so the kill reaches the helper's own group and nothing else. The
// reaper learns of the group from start to that kill.
func runHelper(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return err
	}
	pgid := cmd.Process.Pid
	watchGroup(pgid)
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pgid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	unwatchGroup(pgid)
	return cmd.Wait()
}
