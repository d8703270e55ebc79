//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile, in a workspace, names the test process that owns it ("PID
// STARTTIME"). Close removes it; a workspace that still has one while that
// process is gone was left by a run that died without teardown (a go test
// timeout, a SIGKILL).
const ownerFile = "owner"

// markOwner records this process as the workspace's owner.
func (w *Workspace) markOwner() error {
	st, err := procStart(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(w.Path(ownerFile), []byte(fmt.Sprintf("%d %s\n", os.Getpid(), st)), 0o644)
}

// procStart is the start time of a process in clock ticks since boot (field
// 22 of /proc/PID/stat), which tells a process from a later one with the same PID.
func procStart(pid int) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return "", fmt.Errorf("short /proc/%d/stat", pid)
	}
	return fields[19], nil
}

// ReapStale cleans up after earlier runs that died without teardown: it
// kills the processes they started (found by the workspace path on their
// command line, and by the cgroups named after the workspace), unmounts
// and removes those cgroups, and removes the folder unless keep.
func ReapStale(keep bool) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ncp-e2e-*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // closed properly, or not ours
		}
		var pid int
		var start string
		if _, err := fmt.Sscanf(string(data), "%d %s", &pid, &start); err == nil {
			if st, err := procStart(pid); err == nil && st == start {
				continue // its run is still going
			}
		}
		Logf("cleaning up %s, left by a run that died", dir)
		reapDir(dir)
		if keep {
			_ = os.Remove(filepath.Join(dir, ownerFile))
		} else {
			_ = os.RemoveAll(dir)
		}
	}
}

func reapDir(dir string) {
	cgroups, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", filepath.Base(dir)))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", filepath.Base(dir))); err == nil {
		cgroups = append(cgroups, filepath.Join("/sys/fs/cgroup", filepath.Base(dir))) // cgroup v2
	}
	for round := 0; round < 3; round++ {
		for _, pid := range pidsReferring(dir) {
			killShim(pid) // kills any process; removes a shim's socket too
		}
		for _, cg := range cgroups {
			_ = filepath.WalkDir(cg, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
					return nil
				}
				data, _ := os.ReadFile(p)
				for _, f := range strings.Fields(string(data)) {
					if pid, err := strconv.Atoi(f); err == nil {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
				return nil
			})
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := UnmountUnder(dir); err != nil {
		Logf("%v", err)
	}
	for _, cg := range cgroups {
		var dirs []string
		_ = filepath.WalkDir(cg, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				Logf("removing cgroup %s: %v", d, err)
			}
		}
	}
	for _, d := range []string{"/run/containerd/runc", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd",
		"/var/lib/kubelet/device-plugins", "/var/lib/kubelet"} {
		removeIfEmpty(d)
	}
}

// pidsReferring lists processes with an argument under dir (the kubelet,
// containerd, the registry and containerd's shims of that workspace).
func pidsReferring(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(cmdline), "\x00") {
			if a == dir || strings.HasPrefix(a, dir+"/") || strings.Contains(a, "="+dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
