//go:build linux

package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run the cache in separate processes, as the kubelet
// does: one plugin process per image, all at once.

const (
	helperEnv     = "NCP_CACHE_TEST_HELPER"
	helperDirEnv  = "NCP_CACHE_TEST_DIR"
	helperCallEnv = "NCP_CACHE_TEST_CALLS"
	burstKey      = "helper:pass|get|localhost:5443"
)

// TestHelperProcess is not a test: it is the child process the tests below
// start, a stand-in for one plugin process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("run as a child process only")
	}
	os.Exit(helperMain(mode))
}

func helperMain(mode string) int {
	// A fresh session keyring, as systemd gives a service with
	// KeyringMode=private: entries must be shared without being possessed.
	if err := joinNewSessionKeyring(); err != nil {
		fmt.Println("join session keyring:", err)
		return 1
	}
	c, err := Open(Options{Dir: os.Getenv(helperDirEnv), LockTimeout: 30 * time.Second,
		Warn: func(err error) { fmt.Fprintln(os.Stderr, "warning:", err) }})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fetch := func() ([]byte, time.Duration, error) {
		f, err := os.OpenFile(os.Getenv(helperCallEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, 0, err
		}
		fmt.Fprintln(f, os.Getpid())
		f.Close()
		switch mode {
		case "die-while-fetching":
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		case "burst-fail":
			time.Sleep(200 * time.Millisecond)
			return nil, 0, errors.New("credential helper exited 1")
		}
		// Long enough that every process of the burst is waiting on it.
		time.Sleep(200 * time.Millisecond)
		return []byte("value of " + burstKey), time.Hour, nil
	}
	switch mode {
	case "die-before-link":
		c.store.(*kernelStore).beforeLink = func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	case "burst", "burst-fail":
		// Start together: wait for the parent's byte on stdin.
		io.ReadFull(os.Stdin, make([]byte, 1))
	}
	v, ttl, err := c.Do(context.Background(), burstKey, "fp", fetch)
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 0
	}
	fmt.Printf("%s ttl>59m=%v\n", v, ttl > 59*time.Minute)
	return 0
}

func helperCommand(t *testing.T, mode, dir, calls string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir, helperCallEnv+"="+calls)
	return cmd
}

func fetchCalls(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestBurstAcrossProcesses: N processes that need the same key at the same
// moment make exactly one fetch, and all get its answer.
func TestBurstAcrossProcesses(t *testing.T) {
	const n = 32
	for _, tc := range []struct{ mode, want string }{
		{"burst", "value of " + burstKey + " ttl>59m=true\n"},
		{"burst-fail", "error: credential helper exited 1"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			calls := filepath.Join(t.TempDir(), "calls")
			openTest(t, Options{Dir: dir}) // removes the keyring afterwards

			cmds := make([]*exec.Cmd, n)
			outs := make([]*bytes.Buffer, n)
			starts := make([]io.WriteCloser, n)
			for i := range cmds {
				cmds[i] = helperCommand(t, tc.mode, dir, calls)
				outs[i] = new(bytes.Buffer)
				cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
				var err error
				if starts[i], err = cmds[i].StdinPipe(); err != nil {
					t.Fatal(err)
				}
				if err := cmds[i].Start(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond) // let every child reach the barrier
			begin := time.Now()
			for _, w := range starts {
				w.Write([]byte{1})
				w.Close()
			}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Errorf("child %d: %v: %s", i, err, outs[i])
				}
			}
			elapsed := time.Since(begin)
			hits := 0
			for i, out := range outs {
				got := out.String()
				if tc.mode == "burst" && got != tc.want || !strings.HasPrefix(got, tc.want) {
					t.Errorf("child %d answered %q, want %q", i, got, tc.want)
				}
				if strings.Contains(got, ErrCachedFailure.Error()) {
					hits++
				}
			}
			if got := fetchCalls(t, calls); got != 1 {
				t.Fatalf("%d processes made %d fetches, want 1", n, got)
			}
			// They were first creators of the key file together: one won,
			// and nothing of the others is left.
			if tmp, _ := filepath.Glob(filepath.Join(dir, keyFileName+keyTempInfix+"*")); len(tmp) != 0 {
				t.Errorf("key files in the making left behind: %v", tmp)
			}
			// Whatever the code calls them: only the key and lock files stay.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "cache.key" && !strings.HasSuffix(e.Name(), ".lock") {
					t.Errorf("left in the cache directory: %s", e.Name())
				}
			}
			if tc.mode == "burst-fail" && hits != n-1 {
				t.Errorf("%d processes got the remembered failure, want %d", hits, n-1)
			}
			t.Logf("%d processes, 1 fetch of 200ms, all answered in %v", n, elapsed.Round(time.Millisecond))
		})
	}
}

// A process killed after building an entry and before publishing it leaves
// nothing behind: the entry lived only in its own process keyring.
func TestKilledBeforePublishLeavesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	calls := filepath.Join(t.TempDir(), "calls")
	c, ks := openTest(t, Options{Dir: dir})
	out, err := helperCommand(t, "die-before-link", dir, calls).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed: %v %s", err, out)
	}
	if fetchCalls(t, calls) != 1 {
		t.Fatalf("child did not fetch")
	}
	if names, err := ks.names(); len(names) != 0 || err != nil {
		t.Fatalf("entries after the kill: %v %v", names, err)
	}
	f := &counter{value: []byte("fresh"), ttl: time.Hour}
	if v, _, err := c.Do(context.Background(), burstKey, "fp", f.fetch); string(v) != "fresh" || err != nil || f.n() != 1 {
		t.Fatalf("after the kill: %q %v, %d fetches", v, err, f.n())
	}
}

// A process killed while fetching releases its lock with its life: the next
// process fetches at once instead of waiting out LockTimeout.
func TestKilledWhileFetchingReleasesLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	calls := filepath.Join(t.TempDir(), "calls")
	var warnings []error
	c, _ := openTest(t, Options{Dir: dir, LockTimeout: 10 * time.Second, Warn: func(err error) { warnings = append(warnings, err) }})
	helperCommand(t, "die-while-fetching", dir, calls).Run()
	if fetchCalls(t, calls) != 1 {
		t.Fatalf("child did not fetch")
	}
	start := time.Now()
	f := &counter{value: []byte("fresh"), ttl: time.Hour}
	if v, _, err := c.Do(context.Background(), burstKey, "fp", f.fetch); string(v) != "fresh" || err != nil || f.n() != 1 {
		t.Fatalf("after the kill: %q %v, %d fetches", v, err, f.n())
	}
	if d := time.Since(start); d > time.Second || len(warnings) != 0 {
		t.Fatalf("took %v, warnings %v", d, warnings)
	}
}
