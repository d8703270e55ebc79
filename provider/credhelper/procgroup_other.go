//go:build !unix

package credhelper

import "os/exec"

func ownProcessGroup(cmd *exec.Cmd) {}

func runHelper(cmd *exec.Cmd) error { return cmd.Run() }

func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
