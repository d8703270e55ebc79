//go:build linux

package install

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/provider"
)

// Defaults for a node whose kubelet has no credential provider yet.
const (
	DefaultProviderConfig = "/etc/kubernetes/credential-provider-config.yaml"
	DefaultBinDir         = "/usr/libexec/kubelet-image-credential-provider-plugins"
	DefaultKubeletRootDir = "/var/lib/kubelet"
)

// Options describe the wanted result. Empty host paths are detected.
type Options struct {
	Host   Host
	Detect DetectOptions

	// Binary is the plugin to install, as this process sees it.
	Binary       string
	ProviderName string
	// ProviderConfig and BinDir are the kubelet's two flags; when the
	// kubelet already has a flag, a different value here is refused.
	ProviderConfig string
	BinDir         string

	// The provider entry.
	MatchImages          []string
	DefaultCacheDuration string
	APIVersion           string
	Args                 []string

	// ConfigPath is our configuration file on the host, passed to the
	// plugin as --config. It is written only when ConfigSource (a file as
	// this process sees it) names its content.
	ConfigPath   string
	ConfigSource string

	StateDir string
}

// Change is one file as it is and as it will be.
type Change struct {
	Path    string // host path
	What    string
	Existed bool
	Old     []byte
	New     []byte // nil with Remove
	Remove  bool
	Mode    os.FileMode // as it will be
	OldMode os.FileMode // as it is, when it Existed
	// OldUID and OldGID own it, when it Existed: it keeps them.
	OldUID, OldGID int
	Binary         bool // no text diff
}

// Plan is what install or uninstall would do.
type Plan struct {
	Changes []*Change
	// Provider is our entry as it will be (install only).
	Provider       *config.KubeletProvider
	ProviderConfig string
	ProviderDir    bool
	StateDir       string
	// Found lists what detection found, for --print and the log.
	Found []string
	// Dirs are created before writing, and removed by rollback.
	Dirs []string
	// RemoveDirs are removed, when empty, after an uninstall.
	RemoveDirs []string
	// Notes are things the operator should know.
	Notes []string
	// unreferenced says that after this uninstall the kubelet no longer
	// reads ProviderConfig: the flag naming it was ours and goes.
	unreferenced bool
}

// Changed reports whether the plan changes any file.
func (p *Plan) Changed() bool { return len(p.Changes) > 0 }

func (p *Plan) add(c *Change) {
	if c.Remove && !c.Existed {
		return
	}
	if !c.Remove && c.Existed && bytes.Equal(c.Old, c.New) {
		return
	}
	p.Changes = append(p.Changes, c)
}

// current reads a host file into a Change. An existing file keeps its
// mode unless the caller sets another. A symbolic link is refused, not
// followed: under --root its target would be resolved in our view, not
// the host's, and writing the file would replace the link itself.
func (h Host) current(path, what string, mode os.FileMode) (*Change, error) {
	c := &Change{Path: path, What: what, Mode: mode}
	fi, err := os.Lstat(h.Path(path))
	switch {
	case os.IsNotExist(err):
		return c, nil
	case err != nil:
		return nil, err
	case fi.Mode()&os.ModeSymlink != 0:
		target, _ := os.Readlink(h.Path(path))
		return nil, fmt.Errorf("%s (%s) is a symbolic link to %s: install edits regular files only; name the file itself (--flags-file, --provider-config, --bin-dir, --config)", path, what, target)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := os.ReadFile(h.Path(path))
	if err != nil {
		return nil, err
	}
	c.Existed, c.Old, c.Mode, c.OldMode = true, data, fi.Mode().Perm(), fi.Mode().Perm()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		c.OldUID, c.OldGID = int(st.Uid), int(st.Gid)
	}
	return c, nil
}

// resolveFlag settles one of the two kubelet flags: what the node has, what
// was asked for, or the default. need says the flag must be added.
func resolveFlag(n *Node, flag, asked, def string) (value string, need bool, found string, err error) {
	s, ok, err := n.Value(flag)
	if err != nil {
		return "", false, "", err
	}
	if ok {
		if asked != "" && filepath.Clean(asked) != filepath.Clean(s.Value) {
			return "", false, "", fmt.Errorf("the kubelet already has --%s=%s, set in %s; %q was asked for. Install into the kubelet's (drop the flag), or change %s yourself first", flag, s.Value, s.Where, asked, s.Where)
		}
		return s.Value, false, s.String(), nil
	}
	if asked == "" {
		asked = def
	}
	return asked, true, "--" + flag + " not set: adding --" + flag + "=" + asked, nil
}

// PlanInstall works out every change install makes. It writes nothing.
func PlanInstall(o Options) (*Plan, error) {
	h := o.Host
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.ProviderName == "" {
		return nil, errors.New("no provider name")
	}
	n, err := Detect(h, o.Detect)
	if err != nil {
		return nil, err
	}
	p := &Plan{StateDir: o.StateDir}
	p.Found = found(n)
	dirAsked := strings.HasSuffix(o.ProviderConfig, "/")
	pc, needPC, f1, err := resolveFlag(n, FlagProviderConfig, strings.TrimSuffix(o.ProviderConfig, "/"), DefaultProviderConfig)
	if err != nil {
		return nil, err
	}
	bin, needBin, f2, err := resolveFlag(n, FlagBinDir, o.BinDir, DefaultBinDir)
	if err != nil {
		return nil, err
	}
	p.Found = append(p.Found, f1, f2)
	for what, v := range map[string]string{"provider config": pc, "bin dir": bin, "state dir": o.StateDir} {
		if err := checkHostPath(what, v); err != nil {
			return nil, err
		}
	}
	p.ProviderConfig = pc
	if fi, err := os.Stat(h.Path(pc)); err == nil {
		p.ProviderDir = fi.IsDir()
	} else {
		p.ProviderDir = dirAsked
	}

	prev, err := h.readState(o.StateDir)
	if err != nil {
		return nil, err
	}
	st := &State{Version: 1, ProviderName: o.ProviderName, ProviderConfig: pc}
	if prev != nil {
		if prev.ProviderConfig != pc || prev.ProviderName != o.ProviderName {
			return nil, fmt.Errorf("already installed as provider %q in %s (state %s): run uninstall first", prev.ProviderName, prev.ProviderConfig, filepath.Join(o.StateDir, stateName))
		}
		*st = *prev
	}

	// The provider entry.
	args := append([]string(nil), o.Args...)
	if o.ConfigPath != "" {
		if err := checkHostPath("--config", o.ConfigPath); err != nil {
			return nil, err
		}
		args = append(args, "--config="+o.ConfigPath)
	}
	if s, ok, err := n.Value(FlagRootDir); err != nil {
		return nil, err
	} else if ok && filepath.Clean(s.Value) != DefaultKubeletRootDir && !hasArg(args, "--kubelet-root-dir") && o.ConfigPath == "" {
		args = append(args, "--kubelet-root-dir="+s.Value)
		p.Notes = append(p.Notes, "the kubelet's --root-dir is "+s.Value+" ("+s.Where+"): the plugin gets --kubelet-root-dir="+s.Value)
	}
	apiVersion := o.APIVersion
	if apiVersion == "" {
		apiVersion = "credentialprovider.kubelet.k8s.io/v1"
	}
	dur := o.DefaultCacheDuration
	if dur == "" {
		dur = "1m"
	}
	if len(o.MatchImages) == 0 {
		return nil, errors.New("no --match-image: name the registries this node holds credentials for (the kubelet sends only images they match)")
	}
	prov := config.KubeletProvider{Name: o.ProviderName, MatchImages: o.MatchImages, DefaultCacheDuration: &dur, APIVersion: apiVersion, Args: args, Env: slices.Clone(config.PluginEnv)}
	for _, e := range prov.Problems() {
		return nil, e
	}
	p.Provider = &prov

	// 1. The binary, before anything names it.
	src, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading the binary to install: %w", err)
	}
	binPath := filepath.Join(bin, o.ProviderName)
	c, err := h.current(binPath, "plugin binary", 0o755)
	if err != nil {
		return nil, err
	}
	c.New, c.Binary, c.Mode = src, true, 0o755
	if c.Existed && prev == nil {
		p.Notes = append(p.Notes, binPath+" is already there, not put there by install: it is replaced, and uninstall removes it")
	}
	p.add(c)
	st.Binary = binPath

	// 2. Our own config, only when asked.
	if o.ConfigSource != "" {
		if o.ConfigPath == "" {
			return nil, errors.New("--config-from needs --config: the path the plugin reads it from")
		}
		data, err := provider.ReadFile(o.ConfigSource, maxHostFile)
		if err != nil {
			return nil, err
		}
		if _, err := config.Parse(data); err != nil {
			return nil, fmt.Errorf("%s: %w", o.ConfigSource, err)
		}
		c, err := h.current(o.ConfigPath, "our config", 0o644)
		if err != nil {
			return nil, err
		}
		c.New = data
		p.add(c)
		st.Config = o.ConfigPath
	}

	// 3. The provider entry.
	if p.ProviderDir {
		file := filepath.Join(pc, o.ProviderName+".yaml")
		c, err := h.current(file, "our provider entry (drop-in file)", 0o644)
		if err != nil {
			return nil, err
		}
		if c.New, err = providerFile(prov); err != nil {
			return nil, err
		}
		if c.Existed && prev == nil {
			return nil, fmt.Errorf("%s exists and was not written by install: move it away first", file)
		}
		if !c.Existed {
			st.ProviderFileCreated = true
		}
		p.add(c)
		st.ProviderFile = file
	} else {
		c, err := h.current(pc, "kubelet provider config", 0o644)
		if err != nil {
			return nil, err
		}
		if c.Existed {
			if c.New, err = mergeProvider(c.Old, prov); err != nil {
				return nil, fmt.Errorf("%s: %w", pc, err)
			}
			if kc, err := config.ParseKubelet(c.Old); err == nil && prev == nil {
				if _, err := config.FindProvider(kc.Providers, o.ProviderName); err == nil {
					p.Notes = append(p.Notes, fmt.Sprintf("%s already has a provider named %q, not put there by install: our entry replaces it, and uninstall removes it", pc, o.ProviderName))
				}
			}
			if prev == nil {
				st.Merged = true
			}
			if err := p.keepOriginal(h, st, c); err != nil {
				return nil, err
			}
		} else {
			if c.New, err = providerFile(prov); err != nil {
				return nil, err
			}
			st.ProviderFileCreated, st.Merged = true, true
		}
		p.add(c)
		st.ProviderFile = pc
	}

	// 4. The kubelet's flags, once, where this node keeps them.
	var add []string
	if needPC {
		add = append(add, "--"+FlagProviderConfig+"="+pc)
	}
	if needBin {
		add = append(add, "--"+FlagBinDir+"="+bin)
	}
	if len(add) > 0 {
		if n.FlagsFile == "" {
			return nil, fmt.Errorf("%w (no %s, %s or %s, and no kubelet.service naming one): add %s to the kubelet yourself, or name the file with --flags-file",
				errNoFlagsFile, KubeadmFlagsFile, DebianDefaults, RedHatSysconfig, strings.Join(add, " "))
		}
		c, err := h.current(n.FlagsFile, "kubelet flags ("+n.FlagsVar+")", 0o644)
		if err != nil {
			return nil, err
		}
		var addedLine bool
		if c.New, addedLine, err = addEnvArgs(c.Old, n.FlagsVar, add); err != nil {
			return nil, fmt.Errorf("%s: %w", n.FlagsFile, err)
		}
		if c.Existed {
			if err := p.keepOriginal(h, st, c); err != nil {
				return nil, err
			}
		}
		p.add(c)
		if st.FlagsFile != "" && st.FlagsFile != n.FlagsFile {
			return nil, fmt.Errorf("install added flags to %s before, and would now add to %s: run uninstall first", st.FlagsFile, n.FlagsFile)
		}
		st.FlagsFile, st.FlagsVar = n.FlagsFile, n.FlagsVar
		st.FlagsAdded = append(st.FlagsAdded, add...)
		st.FlagsFileCreated = st.FlagsFileCreated || !c.Existed
		st.FlagsLineAdded = st.FlagsLineAdded || addedLine
		p.Found = append(p.Found, "flags go to "+n.FlagsFile+" ("+n.FlagsVar+"): "+n.FlagsWhy)
	}

	// Folders to make.
	for _, c := range p.Changes {
		for _, d := range missingDirs(h, filepath.Dir(c.Path)) {
			if !slices.Contains(p.Dirs, d) {
				p.Dirs = append(p.Dirs, d)
			}
		}
	}
	if len(p.Changes) > 0 {
		for _, d := range missingDirs(h, o.StateDir) {
			if !slices.Contains(p.Dirs, d) {
				p.Dirs = append(p.Dirs, d)
			}
		}
	}
	for _, d := range p.Dirs {
		if !slices.Contains(st.Dirs, d) {
			st.Dirs = append(st.Dirs, d)
		}
	}

	// 5. The state, last.
	if len(p.Changes) > 0 {
		c, err := h.current(filepath.Join(o.StateDir, stateName), "install state", 0o600)
		if err != nil {
			return nil, err
		}
		c.New, c.Mode = st.encode(), 0o600
		p.add(c)
	}
	return p, nil
}

// PlanUninstall works out how to take away what the state file says
// install added, keeping everything else.
func PlanUninstall(o Options) (*Plan, error) {
	h := o.Host
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	st, err := h.readState(o.StateDir)
	if err != nil {
		return nil, err
	}
	p := &Plan{StateDir: o.StateDir}
	if st == nil {
		p.Notes = append(p.Notes, "no install state at "+filepath.Join(o.StateDir, stateName)+": nothing of ours to remove")
		return p, nil
	}
	p.ProviderConfig = st.ProviderConfig
	if fi, err := os.Stat(h.Path(st.ProviderConfig)); err == nil {
		p.ProviderDir = fi.IsDir()
	}
	pcFlagOurs := false
	for _, f := range st.FlagsAdded {
		if strings.HasPrefix(f, "--"+FlagProviderConfig+"=") {
			pcFlagOurs = true
		}
	}
	keepFlags := false
	if p.ProviderDir && pcFlagOurs {
		// Other files in the directory still need the flag.
		entries, _ := os.ReadDir(h.Path(st.ProviderConfig))
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".json", ".yaml", ".yml":
				if filepath.Join(st.ProviderConfig, e.Name()) != st.ProviderFile {
					keepFlags = true
				}
			}
		}
		if keepFlags {
			p.Notes = append(p.Notes, st.ProviderConfig+" still holds other files: the kubelet flags install added stay")
		}
	}
	if st.ProviderFile != "" {
		c, err := h.current(st.ProviderFile, "kubelet provider config", 0o644)
		if err != nil {
			return nil, err
		}
		if c.Existed {
			if st.Merged {
				var left int
				if c.New, left, err = removeProvider(c.Old, st.ProviderName); err != nil {
					return nil, fmt.Errorf("%s: %w", st.ProviderFile, err)
				}
				c.New = original(h, st, st.ProviderFile, c.New, sameKubeletConfig)
				if left == 0 && st.ProviderFileCreated {
					c.New, c.Remove = nil, true
				} else if left > 0 && pcFlagOurs {
					keepFlags = true
					p.Notes = append(p.Notes, fmt.Sprintf("%s still holds %d other provider(s): the kubelet flags install added stay", st.ProviderFile, left))
				}
			} else {
				c.Remove = true
			}
			p.add(c)
		}
	}
	if st.Config != "" {
		c, err := h.current(st.Config, "our config", 0o644)
		if err != nil {
			return nil, err
		}
		c.Remove = true
		p.add(c)
	}
	p.unreferenced = pcFlagOurs && !keepFlags
	if len(st.FlagsAdded) > 0 && !keepFlags {
		c, err := h.current(st.FlagsFile, "kubelet flags ("+st.FlagsVar+")", 0o644)
		if err != nil {
			return nil, err
		}
		if c.Existed {
			if c.New, err = removeEnvArgs(c.Old, st.FlagsVar, st.FlagsAdded, st.FlagsLineAdded); err != nil {
				return nil, fmt.Errorf("%s: %w", st.FlagsFile, err)
			}
			c.New = original(h, st, st.FlagsFile, c.New, sameEnvFile)
			if st.FlagsFileCreated && len(bytes.TrimSpace(c.New)) == 0 {
				c.New, c.Remove = nil, true
			}
			p.add(c)
		}
	}
	// The binary last: the kubelet must not name a binary that is gone.
	if st.Binary != "" {
		c, err := h.current(st.Binary, "plugin binary", 0o755)
		if err != nil {
			return nil, err
		}
		c.Remove, c.Binary = true, true
		p.add(c)
	}
	c, err := h.current(filepath.Join(o.StateDir, stateName), "install state", 0o600)
	if err != nil {
		return nil, err
	}
	c.Remove = true
	p.add(c)
	for i := len(st.Dirs) - 1; i >= 0; i-- {
		p.RemoveDirs = append(p.RemoveDirs, st.Dirs[i])
	}
	return p, nil
}

// keepOriginal saves c's content before install's first edit of it.
func (p *Plan) keepOriginal(h Host, st *State, c *Change) error {
	if _, ok := st.Originals[c.Path]; ok || bytes.Equal(c.Old, c.New) {
		return nil
	}
	name := filepath.Join(p.StateDir, "original", strings.ReplaceAll(strings.TrimPrefix(c.Path, "/"), "/", "_"))
	oc, err := h.current(name, "the original of "+c.Path, 0o600)
	if err != nil {
		return err
	}
	oc.New, oc.Mode = c.Old, 0o600
	p.add(oc)
	if st.Originals == nil {
		st.Originals = map[string]string{}
	}
	st.Originals[c.Path] = name
	return nil
}

// original returns the saved original of path when uninstall's result
// means the same as it, so that it goes back byte for byte.
func original(h Host, st *State, path string, result []byte, same func(a, b []byte) bool) []byte {
	name, ok := st.Originals[path]
	if !ok {
		return result
	}
	data, ok, err := h.readFile(name)
	if err != nil || !ok || !same(data, result) {
		return result
	}
	return data
}

func sameKubeletConfig(a, b []byte) bool {
	ka, err1 := config.ParseKubelet(a)
	kb, err2 := config.ParseKubelet(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(ka, kb)
}

func sameEnvFile(a, b []byte) bool {
	ea, err1 := parseEnvFile(a)
	eb, err2 := parseEnvFile(b)
	if err1 != nil || err2 != nil || len(ea) != len(eb) {
		return false
	}
	for i := range ea {
		if ea[i].Name != eb[i].Name || strings.Join(strings.Fields(ea[i].Value), " ") != strings.Join(strings.Fields(eb[i].Value), " ") {
			return false
		}
	}
	return true
}

// missingDirs lists the folders of host path d that do not exist yet,
// parents first.
func missingDirs(h Host, d string) []string {
	var out []string
	for d != "/" && d != "." {
		if _, err := os.Stat(h.Path(d)); err == nil {
			break
		}
		out = append([]string{d}, out...)
		d = filepath.Dir(d)
	}
	return out
}

func hasArg(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func found(n *Node) []string {
	var out []string
	if n.PID != 0 {
		out = append(out, fmt.Sprintf("kubelet: pid %d, %s", n.PID, n.Cmdline[0]))
	}
	for _, u := range n.Units {
		out = append(out, "unit: "+u)
	}
	for _, e := range n.EnvFiles {
		if e.Exists {
			out = append(out, "flag file: "+e.Path)
		}
	}
	for _, f := range []string{FlagRootDir, FlagConfig} {
		if s, ok, _ := n.Value(f); ok {
			out = append(out, s.String())
		}
	}
	out = append(out, n.Notes...)
	return out
}
