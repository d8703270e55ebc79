//go:build linux

// Package proctest tells tests whether a process is still running, from Linux's
// /proc, and waits for processes to be gone: the tests that check that no
// helper outlives a run share it.
package proctest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Alive says whether pid is a process that has not exited: it exists and is
// not a zombie waiting to be reaped.
func Alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses, so the
	// state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	return stat[i+2] != 'Z'
}

// Live returns a list of those of pids still alive, for RequireGone.
func Live(pids ...int) func() []int {
	return func() []int {
		var out []int
		for _, p := range pids {
			if Alive(p) {
				out = append(out, p)
			}
		}
		return out
	}
}

// RequireGone fails t unless list returns no process within a few seconds
// (a killed process takes a moment to be reaped), naming what is left as
// what; it then SIGKILLs those, so that a failing test leaves nothing
// behind either.
func RequireGone(t testing.TB, what string, list func() []int) {
	t.Helper()
	var left []int
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if left = list(); len(left) == 0 {
			return
		}
	}
	var desc []string
	for _, p := range left {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		desc = append(desc, strconv.Itoa(p)+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	t.Errorf("%s: %q", what, desc)
	Kill(left...)
}

// Kill SIGKILLs pids; for cleanups of tests that fail before they check.
func Kill(pids ...int) {
	for _, p := range pids {
		if p > 1 {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}
