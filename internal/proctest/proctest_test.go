//go:build linux

package proctest

import (
	"os"
	"os/exec"
	"testing"
)

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Exited but not waited for: a zombie.
	for range 500 {
		if !Alive(pid) {
			break
		}
		exec.Command("sleep", "0.01").Run()
	}
	if Alive(pid) {
		t.Errorf("exited child %d still alive", pid)
	}
	cmd.Wait()
	if Alive(pid) {
		t.Errorf("reaped child %d still alive", pid)
	}
}
