//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"

	"github.com/node-credential-provider/node-credential-provider/internal/atomicfile"
)

// Workspace is the one temporary folder that holds every file, socket, state
// folder and log of a run, and the list of things to undo at the end.
type Workspace struct {
	Dir     string
	LogDir  string
	started time.Time

	mu      sync.Mutex
	procs   []*Process
	undo    []undoStep
	closing bool // set by Close: Start refuses (a test may still run after a signal)
}

type undoStep struct {
	name string
	fn   func() error
}

// NewWorkspace makes the temporary folder. Its path is short on purpose:
// unix socket paths must fit in 108 bytes.
func NewWorkspace() (*Workspace, error) {
	dir, err := os.MkdirTemp("", "ncp-e2e-")
	if err != nil {
		return nil, err
	}
	w := &Workspace{Dir: dir, LogDir: filepath.Join(dir, "logs"), started: time.Now()}
	if err := os.MkdirAll(w.LogDir, 0o755); err != nil {
		return nil, err
	}
	if err := w.markOwner(); err != nil {
		return nil, err
	}
	return w, nil
}

// Path joins elem under the workspace folder.
func (w *Workspace) Path(elem ...string) string {
	return filepath.Join(append([]string{w.Dir}, elem...)...)
}

// MkdirAll makes a folder under the workspace and returns its path.
func (w *Workspace) MkdirAll(elem ...string) (string, error) {
	p := w.Path(elem...)
	return p, os.MkdirAll(p, 0o755)
}

// Defer registers a clean-up step; steps run in reverse order at Close.
func (w *Workspace) Defer(name string, fn func() error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.undo = append(w.undo, undoStep{name, fn})
}

// Phase runs fn and prints how long it took, as "e2e: phase NAME 1.2s".
func Phase(name string, fn func() error) error {
	start := time.Now()
	err := fn()
	status := ""
	if err != nil {
		status = " FAILED"
	}
	fmt.Printf("e2e: phase %s %.1fs%s\n", name, time.Since(start).Seconds(), status)
	return err
}

// Logf prints a harness line (not tied to a test).
func Logf(format string, args ...any) {
	fmt.Printf("e2e: "+format+"\n", args...)
}

// Process is a long-running program the harness started and must stop.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// Start runs a program with its output in logs/NAME.log. env is added to
// the harness's environment (later entries win).
func (w *Workspace) Start(name string, dir string, env []string, argv ...string) (*Process, error) {
	w.mu.Lock()
	closing := w.closing
	w.mu.Unlock()
	if closing {
		return nil, fmt.Errorf("not starting %s: the workspace is being torn down", name)
	}
	logPath := filepath.Join(w.LogDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "==== %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	// Own process group, and killed if the test binary dies without tearing
	// down (a safety net; Close stops everything by PID).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	w.mu.Lock()
	w.procs = append(w.procs, p)
	late := w.closing
	w.mu.Unlock()
	if late {
		// Close began while this started: it may not see p, so stop it here.
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("not starting %s: the workspace is being torn down", name)
	}
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the PID the harness started, then SIGKILL after
// grace. It is safe to call more than once.
func (p *Process) Stop(grace time.Duration) error {
	if done, _ := p.Exited(); done {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.PID())
	}
}

// Run runs a short command and returns its combined output; the command
// line and output go to logs/commands.log.
func (w *Workspace) Run(ctx context.Context, env []string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if f, ferr := os.OpenFile(filepath.Join(w.LogDir, "commands.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
		fmt.Fprintf(f, "$ %s\n%s", strings.Join(argv, " "), out)
		if err != nil {
			fmt.Fprintf(f, "(%v)\n", err)
		}
		f.Close()
	}
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, tail(string(out), 800))
	}
	return string(out), nil
}

// Close stops every process in reverse start order, runs the clean-up
// steps, unmounts what is left under the folder and, unless keep, removes it.
func (w *Workspace) Close(keep bool) error {
	var errs []error
	w.mu.Lock()
	w.closing = true
	undo := w.undo
	w.undo = nil
	w.mu.Unlock()
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", undo[i].name, err))
		}
	}
	w.mu.Lock()
	procs := w.procs
	w.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := UnmountUnder(w.Dir); err != nil {
		errs = append(errs, err)
	}
	_ = os.Remove(w.Path(ownerFile))
	if keep {
		Logf("kept %s (logs in %s)", w.Dir, w.LogDir)
	} else if err := os.RemoveAll(w.Dir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", w.Dir, err))
	}
	return errors.Join(errs...)
}

// UnmountUnder unmounts every mount point at or below dir, deepest first.
func UnmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	var points []string
	for _, m := range mounts {
		points = append(points, m.Mountpoint)
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, mp := range points {
		if err := syscall.Unmount(mp, 0); err != nil {
			if err2 := syscall.Unmount(mp, syscall.MNT_DETACH); err2 != nil && !errors.Is(err2, syscall.EINVAL) && !errors.Is(err2, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err2))
			}
		}
	}
	return errors.Join(errs...)
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WriteFileAtomic replaces path with data (atomicfile.Write), so a watcher
// (the kubelet's static pod source) never sees a half-written file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm, -1, -1)
}

// permanent marks an error that ends WaitFor at once.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent wraps err so that WaitFor returns it at once instead of
// polling on (a process that exited will not come back).
func Permanent(err error) error { return permanent{err} }

// WaitFor polls cond every interval until it returns true, or a Permanent
// error, or timeout passes. Other errors count as "not yet"; the last one is
// reported on timeout.
func WaitFor(timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("timed out after %s: %w", timeout, last)
			}
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(interval)
	}
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// TailFile returns the last n bytes of a file, for failure messages.
func TailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	_, _ = f.ReadAt(buf, off)
	return string(buf)
}

// LogEntries splits a klog log into entries: a line starting with a klog
// header ("E1127 14:57:35.727049 ...") and the continuation lines of a
// multi-line value after it.
func LogEntries(log string) []string {
	var entries []string
	var cur strings.Builder
	for _, line := range strings.Split(log, "\n") {
		if isKlogHeader(line) && cur.Len() > 0 {
			entries = append(entries, cur.String())
			cur.Reset()
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if cur.Len() > 0 {
		entries = append(entries, cur.String())
	}
	return entries
}

func isKlogHeader(line string) bool {
	if len(line) < 5 || !strings.ContainsRune("IWEF", rune(line[0])) {
		return false
	}
	for _, c := range line[1:5] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
