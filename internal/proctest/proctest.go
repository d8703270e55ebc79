// Package proctest tells tests whether a process is still running, from Linux's
// /proc: the tests that check that no helper outlives a run share it.
package proctest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
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
