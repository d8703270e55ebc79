//go:build linux

// Command podreader is the adversary of the node cache's threat model: a
// static program that, run in a container as a pod runs by default (uid 0
// in the host user namespace, no seccomp, no host mounts), looks for a
// marker secret everywhere it can reach, and says what it found. The e2e
// suite runs it under runc (cases_podreader_test.go).
//
//	podreader scan MARKER_HEX
//
// walks every keyring it can reach (thread, process, session, user,
// user-session, persistent, and every key /proc/keys shows it) and every
// regular file in its mount namespace, and reads each. A reading that holds
// the marker in plain text or base64 is a finding. MARKER_HEX is the marker's
// bytes reversed, in hex, so that the program's own command line never
// holds the marker in a form it looks for.
//
//	podreader watch -report FILE MARKER_HEX -- COMMAND [ARG...]
//
// runs COMMAND (stdin and stdout passed through) while a fanotify mark on
// every filesystem records each file the command's own process writes,
// anywhere; then reads each written file for the marker. FILE gets the
// report. Writes by the command's children (a credential helper) are not
// the command's.
//
// Reports are JSON; they never hold the marker.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: podreader scan MARKER_HEX | podreader watch -report FILE MARKER_HEX -- COMMAND [ARG...]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "scan":
		err = scan(os.Args[2])
	case "watch":
		err = watch(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podreader:", err)
		os.Exit(1)
	}
}

// forms are the byte strings a finding holds: the marker, and its base64
// (standard and URL alphabets) at each of the three offsets mod 3 it can
// have in an encoded stream.
func forms(markerHex string) ([][]byte, error) {
	rev, err := hex.DecodeString(markerHex)
	if err != nil || len(rev) < 8 {
		return nil, fmt.Errorf("marker: want the reversed marker in hex, at least 8 bytes")
	}
	m := make([]byte, len(rev))
	for i := range rev {
		m[len(m)-1-i] = rev[i]
	}
	out := [][]byte{m}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := 0; pad < 3; pad++ {
			s := enc.EncodeToString(append(make([]byte, pad), m...))
			out = append(out, []byte(s[4*((pad+2)/3):4*((pad+len(m))/3)]))
		}
	}
	return out, nil
}

func holds(b []byte, needles [][]byte) string {
	for i, f := range needles {
		if bytes.Contains(b, f) {
			if i == 0 {
				return "plain"
			}
			return "base64"
		}
	}
	return ""
}

// Key is one key or keyring the scan reached.
type Key struct {
	ID          int    `json:"id"`
	Description string `json:"description"` // "type;uid;gid;perm;description", or "" when not viewable
	Via         string `json:"via"`         // how it was reached
	Read        bool   `json:"read"`        // the payload (or keyring list) could be read
	Size        int    `json:"size"`
	Err         string `json:"err,omitempty"`
}

// ScanReport is what scan prints, on one line after "PODREADER ".
type ScanReport struct {
	UID        int      `json:"uid"`
	Keyrings   []string `json:"keyrings"` // the special keyrings reached: "user=123", ...
	Keys       []Key    `json:"keys"`
	Files      int      `json:"files"`
	Bytes      int64    `json:"bytes"`
	FileErrors int      `json:"fileErrors"`
	Findings   []string `json:"findings"`
}

func scan(markerHex string) error {
	needles, err := forms(markerHex)
	if err != nil {
		return err
	}
	r := &ScanReport{UID: os.Getuid(), Findings: []string{}}
	seen := map[int]bool{}
	var walk func(id int, via string)
	walk = func(id int, via string) {
		if seen[id] {
			return
		}
		seen[id] = true
		k := Key{ID: id, Via: via}
		k.Description, _ = unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		b, err := readKey(id)
		if err != nil {
			k.Err = err.Error()
		} else {
			k.Read, k.Size = true, len(b)
		}
		r.Keys = append(r.Keys, k)
		if err != nil {
			return
		}
		if strings.HasPrefix(k.Description, "keyring;") {
			for i := 0; i+4 <= len(b); i += 4 {
				walk(int(int32(binary.NativeEndian.Uint32(b[i:]))), fmt.Sprintf("in %d", id))
			}
			return
		}
		if f := holds(b, needles); f != "" {
			r.Findings = append(r.Findings, fmt.Sprintf("key %d (%s): %s", id, k.Description, f))
		}
	}
	// A process keyring to link the persistent keyring into.
	unix.KeyctlGetKeyringID(unix.KEY_SPEC_PROCESS_KEYRING, true)
	for _, sp := range []struct {
		name string
		spec int
	}{
		{"thread", unix.KEY_SPEC_THREAD_KEYRING}, {"process", unix.KEY_SPEC_PROCESS_KEYRING},
		{"session", unix.KEY_SPEC_SESSION_KEYRING}, {"user", unix.KEY_SPEC_USER_KEYRING},
		{"user-session", unix.KEY_SPEC_USER_SESSION_KEYRING},
	} {
		id, err := unix.KeyctlGetKeyringID(sp.spec, false)
		if err != nil {
			r.Keyrings = append(r.Keyrings, fmt.Sprintf("%s: %v", sp.name, err))
			continue
		}
		r.Keyrings = append(r.Keyrings, fmt.Sprintf("%s=%d", sp.name, id))
		walk(id, sp.name)
	}
	if id, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, -1, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0); err != nil {
		r.Keyrings = append(r.Keyrings, fmt.Sprintf("persistent: %v", err))
	} else {
		r.Keyrings = append(r.Keyrings, fmt.Sprintf("persistent=%d", id))
		walk(id, "persistent")
	}
	// Every key the kernel lets us view, linked where we can reach it or not.
	if pk, err := os.ReadFile("/proc/keys"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(pk))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			if id, err := strconv.ParseUint(f[0], 16, 31); err == nil {
				walk(int(id), "/proc/keys")
			}
		}
	} else {
		r.Keyrings = append(r.Keyrings, fmt.Sprintf("/proc/keys: %v", err))
	}

	// Every regular file in this mount namespace. Device nodes, FIFOs and
	// sockets are not files with content (and /dev/zero never ends).
	filepath.WalkDir("/", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			r.FileErrors++
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := readFile(p)
		if err != nil {
			r.FileErrors++
			return nil
		}
		r.Files++
		r.Bytes += int64(len(b))
		if f := holds(b, needles); f != "" {
			r.Findings = append(r.Findings, fmt.Sprintf("file %s: %s", p, f))
		}
		return nil
	})
	out, _ := json.Marshal(r)
	fmt.Printf("PODREADER %s\n", out)
	return nil
}

func readKey(id int) ([]byte, error) {
	buf := make([]byte, 4096)
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return nil, err
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, n)
	}
}

// readFile reads at most 8 MiB of a file, giving up after 2 seconds (some
// files of /sys block).
func readFile(p string) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 8<<20))
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(2 * time.Second):
		return nil, errors.New("timed out")
	}
}

// Written is one file the watched command wrote.
type Written struct {
	Path    string `json:"path"`
	Size    int    `json:"size"`
	Finding string `json:"finding,omitempty"`
}

// WatchReport is what watch writes to its report file.
type WatchReport struct {
	Marked   []string  `json:"marked"` // filesystems watched, by a mount point
	Written  []Written `json:"written"`
	ExitCode int       `json:"exitCode"`
}

func watch(args []string) error {
	if len(args) < 5 || args[0] != "-report" || args[3] != "--" {
		return errors.New("usage: podreader watch -report FILE MARKER_HEX -- COMMAND [ARG...]")
	}
	reportPath, markerHex, argv := args[1], args[2], args[4:]
	needles, err := forms(markerHex)
	if err != nil {
		return err
	}
	fan, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fanotify_init: %w", err)
	}
	rep := &WatchReport{Marked: []string{}, Written: []Written{}}
	// Every filesystem that can hold a file: a FAN_MARK_FILESYSTEM mark
	// covers all of its mounts, so one mount point per filesystem does.
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return err
	}
	devs := map[[2]int]bool{}
	rootDev := [2]int{-1, -1}
	for _, m := range mounts {
		dev, mnt := [2]int{m.Major, m.Minor}, m.Mountpoint
		if mnt == "/" {
			rootDev = dev // the last mount on "/" is the one in view
		}
		switch m.FSType {
		case "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs", "tracefs", "securityfs",
			"pstore", "bpf", "configfs", "fusectl", "binfmt_misc", "autofs", "nsfs", "efivarfs", "rpc_pipefs":
			continue // no files a process stores anything in
		}
		if devs[dev] {
			continue
		}
		if err := unix.FanotifyMark(fan, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_MODIFY|unix.FAN_CLOSE_WRITE, unix.AT_FDCWD, mnt); err == nil {
			devs[dev] = true
			rep.Marked = append(rep.Marked, mnt)
		}
	}
	if !devs[rootDev] {
		return errors.New("could not watch the root filesystem")
	}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := int32(cmd.Process.Pid)
	// written is filled by the reader below and read here once it is done
	// or given up on: closing fan does not wake a blocked read.
	var mu sync.Mutex
	written := map[string]*Written{}
	events := make(chan struct{})
	go func() {
		defer close(events)
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(fan, buf)
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return
			}
			for b := buf[:n]; len(b) >= int(unsafe.Sizeof(unix.FanotifyEventMetadata{})); {
				m := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&b[0]))
				if m.Event_len == 0 || int(m.Event_len) > len(b) {
					break
				}
				if m.Fd >= 0 {
					if m.Pid == pid {
						mu.Lock()
						record(int(m.Fd), written, needles)
						mu.Unlock()
					}
					unix.Close(int(m.Fd))
				}
				b = b[m.Event_len:]
			}
		}
	}()
	werr := cmd.Wait()
	rep.ExitCode = cmd.ProcessState.ExitCode()
	// The last events of the command may still be queued: read until quiet.
	time.Sleep(300 * time.Millisecond)
	unix.Close(fan)
	select {
	case <-events:
	case <-time.After(2 * time.Second):
	}
	mu.Lock()
	for _, w := range written {
		rep.Written = append(rep.Written, *w)
	}
	mu.Unlock()
	slices.SortFunc(rep.Written, func(a, b Written) int { return strings.Compare(a.Path, b.Path) })
	out, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(reportPath, append(out, '\n'), 0o600); err != nil {
		return err
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return werr
	}
	os.Exit(rep.ExitCode)
	return nil
}

// record reads the file behind an event's descriptor (which stays valid even
// when the name is gone) and keeps the worst of what it held.
func record(fd int, written map[string]*Written, needles [][]byte) {
	path, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		path = fmt.Sprintf("(fd %d: %v)", fd, err)
	}
	w := written[path]
	if w == nil {
		w = &Written{Path: path}
		written[path] = w
	}
	b := make([]byte, 1<<20)
	n, _ := unix.Pread(fd, b, 0)
	if n < 0 {
		n = 0
	}
	w.Size = n
	if f := holds(b[:n], needles); f != "" {
		w.Finding = f
	}
}
