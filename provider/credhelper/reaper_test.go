//go:build linux

package credhelper

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/internal/proctest"
)

// pidIn reads the pid a test helper wrote to path: a pid that cannot be
// read fails the test, rather than checking pid 0, which is never alive.
func pidIn(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Fatalf("%s holds %q, not a pid", path, data)
	}
	return pid
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
	proctest.RequireGone(t, "the helper's child outlived the call", proctest.Live(pidIn(t, pids)))
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
	proctest.RequireGone(t, "the helper's child outlived the call", proctest.Live(pidIn(t, pids)))
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
	in := "+" + strconv.Itoa(open.Process.Pid) + "\n+" + strconv.Itoa(closed.Process.Pid) + "\n-" + strconv.Itoa(closed.Process.Pid) + "\n"
	// What the reaper reads: never group 1 (a kill of -1 reaches every
	// process), 0, or a line that is not one of ours. Checked without
	// killing anything.
	got := openGroups(strings.NewReader(in + "bogus\n+1\n+0\n+-5\n-\n+x\n"))
	if want := map[int]bool{open.Process.Pid: true}; !reflect.DeepEqual(got, want) {
		t.Fatalf("open groups %v, want %v", got, want)
	}
	// Reap's work, without the signal handling it sets for its own process.
	killGroups(openGroups(strings.NewReader(in)))
	if err := open.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("open group: %v, want killed", err)
	}
	if !proctest.Alive(closed.Process.Pid) {
		t.Errorf("a group removed from the reaper was killed")
	}
}
