//go:build unix && !linux

package credhelper

import (
	"os/exec"
	"syscall"
)

func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the helper and everything it started that stayed
// in its group, so that no grandchild is left holding our pipes.
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// runHelper runs cmd and kills its process group when it is done.
func runHelper(cmd *exec.Cmd) error {
	err := cmd.Run()
	_ = killProcessGroup(cmd)
	return err
}
