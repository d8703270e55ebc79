//go:build linux

package credhelper

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/internal/proctest"
)

// alive says whether pid is a process that has not exited.
func alive(pid int) bool { return proctest.Alive(pid) }

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("process %d still running", pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// A call cut short by the run (its context cancelled) kills the helper
// and what it started in its group, and says it was cut short, not that
// the helper timed out.
func TestExecCutShortKillsTheGroup(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	h := script(t, "stuck", "sleep 300 &\necho $! > "+pids+"\nwait\n")
	h.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, _, _, err := h.Get(ctx, "reg.io")
	var te *TimeoutError
	if !errors.As(err, &te) || !te.RunDeadline || !strings.Contains(err.Error(), "cut short at the run's deadline") {
		t.Errorf("error = %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s", took)
	}
	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	sleep, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	waitGone(t, sleep)
	// The helper hung: it is not asked again in this run.
	if _, _, _, err := h.Get(context.Background(), "other.io"); err == nil || !strings.Contains(err.Error(), "not run again") {
		t.Errorf("second call: %v", err)
	}
}

// A helper that answers but leaves a child in its group (that closed its
// stdout, so nothing waits for it) does not leave it running.
func TestExecKillsWhatAHelperLeaves(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	h := script(t, "leaves", "sleep 300 >/dev/null 2>&1 &\necho $! > "+pids+"\nprintf '{\"Username\":\"u\",\"Secret\":\"p\"}'\n")
	if _, _, found, err := h.Get(context.Background(), "reg.io"); !found || err != nil {
		t.Fatalf("Get = %v %v", found, err)
	}
	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	sleep, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	waitGone(t, sleep)
}

// The reaper kills the groups still open when its pipe closes, and only
// those.
func TestReap(t *testing.T) {
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	open, closed := start(), start()
	in := "+" + strconv.Itoa(open.Process.Pid) + "\n+" + strconv.Itoa(closed.Process.Pid) + "\n-" + strconv.Itoa(closed.Process.Pid) + "\nbogus\n+1\n"
	if code := Reap(strings.NewReader(in)); code != 0 {
		t.Errorf("Reap = %d", code)
	}
	if err := open.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("open group: %v, want killed", err)
	}
	if !alive(closed.Process.Pid) {
		t.Errorf("a group removed from the reaper was killed")
	}
}
