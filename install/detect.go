//go:build linux

package install

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The kubelet flags that install reads.
const (
	FlagProviderConfig = "image-credential-provider-config"
	FlagBinDir         = "image-credential-provider-bin-dir"
	FlagRootDir        = "root-dir"
	FlagConfig         = "config"
)

var watchedFlags = []string{FlagProviderConfig, FlagBinDir, FlagRootDir, FlagConfig}

// Well-known places of the kubelet's extra flags.
const (
	KubeadmFlagsFile = "/var/lib/kubelet/kubeadm-flags.env"
	DebianDefaults   = "/etc/default/kubelet"
	RedHatSysconfig  = "/etc/sysconfig/kubelet"
	// ExtraArgsVar is the variable kubeadm's and the packages' units
	// leave to the administrator; kubeadm rewrites KUBELET_KUBEADM_ARGS.
	ExtraArgsVar = "KUBELET_EXTRA_ARGS"
)

// unitDirs are searched for kubelet.service and kubelet.service.d, most
// important first, as systemd does.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// Setting is one occurrence of a kubelet flag and where it was found.
type Setting struct {
	Flag  string
	Value string
	Where string // a host path, with the variable when it is an env file
}

func (s Setting) String() string { return fmt.Sprintf("--%s=%s (%s)", s.Flag, s.Value, s.Where) }

// EnvFile is an environment file the kubelet's unit reads, or may read.
type EnvFile struct {
	Path       string
	Exists     bool
	Referenced bool // a unit names it in EnvironmentFile=
}

// Node is what Detect found.
type Node struct {
	Host     Host
	PID      int      // the running kubelet; 0 when none was found
	Cmdline  []string // its argv
	Settings []Setting
	Units    []string // unit files and drop-ins read
	EnvFiles []*EnvFile
	// FlagsFile and FlagsVar say where missing flags would be added; empty
	// when this node keeps its flags nowhere we can edit. FlagsWhy says why
	// that file.
	FlagsFile string
	FlagsVar  string
	FlagsWhy  string
	Notes     []string
}

// DetectOptions steer Detect.
type DetectOptions struct {
	PID       int    // the kubelet's pid; 0: find the process named kubelet
	FlagsFile string // where to add flags; "": decide from what is found
	FlagsVar  string // the variable in FlagsFile; "": KUBELET_EXTRA_ARGS
}

// Detect reads what the node tells about its kubelet. It writes nothing.
func Detect(h Host, o DetectOptions) (*Node, error) {
	n := &Node{Host: h}
	if err := n.readProc(o.PID); err != nil {
		return nil, err
	}
	refs, err := n.readUnits()
	if err != nil {
		return nil, err
	}
	known := append(refs, KubeadmFlagsFile, DebianDefaults, RedHatSysconfig)
	if o.FlagsFile != "" {
		known = append(known, o.FlagsFile)
	}
	seen := map[string]*EnvFile{}
	for _, p := range known {
		if seen[p] != nil {
			continue
		}
		ef := &EnvFile{Path: p, Referenced: slices.Contains(refs, p)}
		seen[p] = ef
		data, ok, err := h.readFile(p)
		if err != nil {
			return nil, err
		}
		ef.Exists = ok
		n.EnvFiles = append(n.EnvFiles, ef)
		if !ok {
			continue
		}
		assigns, err := parseEnvFile(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, a := range assigns {
			for _, s := range argSettings(strings.Fields(a.Value), p+" ("+a.Name+")") {
				n.Settings = append(n.Settings, s)
			}
		}
	}
	n.chooseFlagsFile(o, seen)
	return n, nil
}

// readProc finds the kubelet in /proc and records its flags.
func (n *Node) readProc(pid int) error {
	proc := n.Host.proc()
	var pids []int
	if pid != 0 {
		pids = []int{pid}
	} else {
		entries, err := os.ReadDir(proc)
		if err != nil {
			return fmt.Errorf("reading %s: %w (use --proc to name the host's /proc)", proc, err)
		}
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil || p == os.Getpid() {
				continue
			}
			argv, err := readCmdline(filepath.Join(proc, e.Name(), "cmdline"))
			if err != nil || len(argv) == 0 || filepath.Base(argv[0]) != "kubelet" {
				continue
			}
			pids = append(pids, p)
		}
	}
	switch len(pids) {
	case 0:
		n.Notes = append(n.Notes, "no running kubelet found in "+proc+": using the flag files only")
		return nil
	case 1:
	default:
		sort.Ints(pids)
		return fmt.Errorf("%d processes named kubelet (pids %v): choose one with --kubelet-pid", len(pids), pids)
	}
	where := fmt.Sprintf("/proc/%d/cmdline", pids[0])
	argv, err := readCmdline(filepath.Join(proc, strconv.Itoa(pids[0]), "cmdline"))
	if err != nil {
		return fmt.Errorf("reading the kubelet's command line: %w", err)
	}
	if len(argv) == 0 {
		return fmt.Errorf("%s is empty: process %d has exited", where, pids[0])
	}
	n.PID, n.Cmdline = pids[0], argv
	n.Settings = append(n.Settings, argSettings(argv[1:], where)...)
	return nil
}

func readCmdline(p string) ([]string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return nil, nil
	}
	return strings.Split(string(data), "\x00"), nil
}

// argSettings finds the watched flags in args, in the forms the kubelet's
// flag parser takes: --flag=value, --flag value, and one dash.
func argSettings(args []string, where string) []Setting {
	var out []Setting
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(watchedFlags, name) {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				continue
			}
			i++
			value = args[i]
		}
		out = append(out, Setting{Flag: name, Value: value, Where: where})
	}
	return out
}

// readUnits reads kubelet.service and its drop-ins, records the flags
// written literally in Environment= and ExecStart=, and returns the
// environment files they name.
func (n *Node) readUnits() ([]string, error) {
	var files []string
	for _, d := range unitDirs {
		p := filepath.Join(d, "kubelet.service")
		if _, err := os.Stat(n.Host.Path(p)); err == nil {
			files = append(files, p)
			break
		}
	}
	dropins := map[string]string{} // file name -> path; the first directory wins
	var names []string
	for _, d := range unitDirs {
		dd := filepath.Join(d, "kubelet.service.d")
		entries, err := os.ReadDir(n.Host.Path(dd))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || filepath.Ext(e.Name()) != ".conf" {
				continue
			}
			if _, dup := dropins[e.Name()]; !dup {
				dropins[e.Name()] = filepath.Join(dd, e.Name())
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	for _, nm := range names {
		files = append(files, dropins[nm])
	}
	var refs []string
	for _, f := range files {
		data, _, err := n.Host.readFile(f)
		if err != nil {
			return nil, err
		}
		n.Units = append(n.Units, f)
		for _, line := range unitLines(data) {
			key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			switch strings.TrimSpace(key) {
			case "EnvironmentFile":
				p := strings.TrimPrefix(strings.TrimSpace(value), "-")
				if p != "" && !slices.Contains(refs, p) {
					refs = append(refs, p)
				}
			case "Environment":
				for _, w := range unitWords(value) {
					name, v, _ := strings.Cut(w, "=")
					n.Settings = append(n.Settings, argSettings(strings.Fields(v), f+" (Environment "+name+")")...)
				}
			case "ExecStart":
				n.Settings = append(n.Settings, argSettings(unitWords(value), f+" (ExecStart)")...)
			}
		}
	}
	return refs, nil
}

// unitLines splits a unit file into lines, joining those continued with a
// backslash as systemd does.
func unitLines(data []byte) []string {
	var out []string
	cur := ""
	for _, l := range splitLines(data) {
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// unitWords splits a unit file value into words, honouring double and
// single quotes as systemd does.
func unitWords(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote, in = r, true
		case quote == 0 && (r == ' ' || r == '\t'):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// chooseFlagsFile decides where flags the kubelet lacks would go: the
// administrator's file (KUBELET_EXTRA_ARGS in /etc/default/kubelet or
// /etc/sysconfig/kubelet), which kubeadm never rewrites, rather than
// kubeadm-flags.env, which kubeadm owns.
func (n *Node) chooseFlagsFile(o DetectOptions, files map[string]*EnvFile) {
	n.FlagsVar = o.FlagsVar
	if n.FlagsVar == "" {
		n.FlagsVar = ExtraArgsVar
	}
	set := func(p, why string) { n.FlagsFile, n.FlagsWhy = p, why }
	if o.FlagsFile != "" {
		set(o.FlagsFile, "--flags-file")
		return
	}
	unitKnown := len(n.Units) > 0
	for _, p := range []string{DebianDefaults, RedHatSysconfig} {
		if ef := files[p]; ef.Exists && (ef.Referenced || !unitKnown) {
			set(p, "exists, and is the administrator's file ("+ExtraArgsVar+")")
			return
		}
	}
	for _, p := range []string{DebianDefaults, RedHatSysconfig} {
		if files[p].Referenced {
			set(p, "named by the kubelet's unit in EnvironmentFile=, not there yet")
			return
		}
	}
	if files[KubeadmFlagsFile].Exists && !unitKnown {
		for _, p := range []string{DebianDefaults, RedHatSysconfig} {
			if fi, err := os.Stat(n.Host.Path(filepath.Dir(p))); err == nil && fi.IsDir() {
				set(p, "a kubeadm node (kubeadm-flags.env) with "+filepath.Dir(p)+"; kubeadm's unit reads "+p)
				return
			}
		}
	}
	n.FlagsVar = ""
}

// Value is the effective value of a kubelet flag: what the next start of
// the kubelet reads (a flag file) or, when no file sets it, what the
// running kubelet got. Two different values are an error naming both.
func (n *Node) Value(flag string) (Setting, bool, error) {
	var found []Setting
	for _, s := range n.Settings {
		if s.Flag == flag {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		return Setting{}, false, nil
	}
	for _, s := range found[1:] {
		if s.Value != found[0].Value {
			return Setting{}, false, fmt.Errorf("the kubelet's --%s has two values: %q in %s and %q in %s; settle it first", flag, found[0].Value, found[0].Where, s.Value, s.Where)
		}
	}
	// Prefer the file that sets it over /proc: that is where it lives.
	for _, s := range found {
		if !strings.HasPrefix(s.Where, "/proc/") {
			return s, true, nil
		}
	}
	return found[0], true, nil
}

var errNoFlagsFile = errors.New("cannot tell where this node keeps the kubelet's flags")
