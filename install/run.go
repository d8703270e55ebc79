//go:build linux

package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// Staged is the result of a plan laid out in a temporary folder, for the
// same checks as `validate` before anything is written on the host.
type Staged struct {
	// KubeletConfig is the provider config as the kubelet would read it
	// (a file or a drop-in folder); empty when nothing of it remains.
	KubeletConfig string
	// BinDir holds our binary under ProviderName; empty on uninstall.
	BinDir string
	// ProviderName is our entry's name; empty on uninstall, when only the
	// remaining providers are checked.
	ProviderName string
	// Args are our entry's args with our config's path pointing at its
	// staged copy.
	Args []string
	// OnHost says the args' other paths (credential files) can be checked
	// where they are: false under --root, where they are host paths.
	OnHost bool
}

// Validator checks a staged result and writes what it checked to w, as
// `validate` does; it returns the number of problems.
type Validator func(s Staged, w io.Writer) (problems int)

// Runner carries out plans.
type Runner struct {
	Out      io.Writer
	Print    bool
	Validate Validator
	Restart  *Restarter // nil: no restart
}

// Install plans and carries out an install (run).
func (r *Runner) Install(o Options) error { return r.run(o, false) }

// Uninstall plans and carries out an uninstall (run).
func (r *Runner) Uninstall(o Options) error { return r.run(o, true) }

// run holds the node's install lock for the whole operation, so that a
// second install or uninstall (a person's, a DaemonSet pod's) cannot take
// this one's pending marker for a dead run's; puts back the files of an
// earlier operation that was killed half way; then plans and carries out.
func (r *Runner) run(o Options, uninstall bool) error {
	unlock, err := lockNode(o.Host)
	if err != nil {
		return err
	}
	defer unlock()
	recovered, err := r.recoverFirst(o)
	if err != nil {
		return err
	}
	plan := PlanInstall
	if uninstall {
		plan = PlanUninstall
	}
	p, err := plan(o)
	if err != nil {
		return err
	}
	return r.execute(o, p, uninstall, recovered)
}

// lockNode takes an exclusive flock on the host's root directory, which
// every view of the node (--root or not) shares and which always exists:
// creating a lock file of our own would leave something behind after
// uninstall. Only our installers take it. It fails at once when another
// holds it.
func lockNode(h Host) (unlock func(), err error) {
	fd, err := unix.Open(h.Path("/"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("locking the node for install: %w", err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errors.New("another install or uninstall is running on this node; try again when it has finished")
		}
		return nil, fmt.Errorf("locking the node for install: %w", err)
	}
	return func() { unix.Close(fd) }, nil
}

// recoverFirst puts the node back as it was before an interrupted
// operation (recoverInterrupted), and says whether there was one. --print
// writes nothing, so it stops there.
func (r *Runner) recoverFirst(o Options) (bool, error) {
	stateDir := o.StateDir
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	if r.Print {
		if _, err := os.Stat(o.Host.Path(filepath.Join(backupDir(stateDir), pendingName))); err == nil {
			return false, fmt.Errorf("an earlier install or uninstall was interrupted while it changed files (%s): run without --print to put them back from its backups first", o.Host.Path(filepath.Join(backupDir(stateDir), pendingName)))
		}
		return false, nil
	}
	return recoverInterrupted(o.Host, stateDir, r.Out)
}

// execute carries out p. recovered says files were just put back from an
// interrupted run, which may have restarted the kubelet with its own: with
// a restarter, the kubelet is restarted even when p changes nothing.
func (r *Runner) execute(o Options, p *Plan, uninstall, recovered bool) error {
	for _, f := range p.Found {
		fmt.Fprintf(r.Out, "# %s\n", f)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(r.Out, "# note: %s\n", n)
	}
	if !p.Changed() {
		if uninstall {
			fmt.Fprintln(r.Out, "nothing to change: nothing of ours is installed")
		} else {
			fmt.Fprintln(r.Out, "nothing to change: already installed as asked")
		}
		if recovered && r.Restart != nil {
			fmt.Fprintf(r.Out, "restarting the kubelet, which may have read the interrupted run's files: %s\n", r.Restart.Command)
			if err := r.Restart.Restart(); err != nil {
				return fmt.Errorf("the files are as they were before the interrupted run, but restarting the kubelet failed: %w", err)
			}
			fmt.Fprintf(r.Out, "the kubelet is healthy (%s)\n", r.Restart.HealthzURL)
		}
		return nil
	}
	if r.Print {
		p.WriteDiff(r.Out)
	}
	if r.Validate != nil {
		if err := r.validate(o, p); err != nil {
			return err
		}
	}
	if r.Print {
		fmt.Fprintf(r.Out, "# --print: %d file(s) would change; nothing written\n", len(p.Changes))
		return nil
	}
	a, err := apply(o.Host, p)
	if err != nil {
		return err
	}
	for _, c := range p.Changes {
		verb := "wrote"
		switch {
		case c.Remove:
			verb = "removed"
		case !c.Existed:
			verb = "created"
		}
		fmt.Fprintf(r.Out, "%-7s %s (%s)\n", verb, c.Path, c.What)
	}
	if r.Restart != nil {
		fmt.Fprintf(r.Out, "restarting the kubelet: %s\n", r.Restart.Command)
		if err := r.Restart.Restart(); err != nil {
			return r.undo(a, err)
		}
		fmt.Fprintf(r.Out, "the kubelet is healthy (%s)\n", r.Restart.HealthzURL)
	} else {
		fmt.Fprintln(r.Out, "the kubelet reads this on its next start (restart it, or run with --restart)")
	}
	a.finished()
	if uninstall {
		a.finishUninstall()
	}
	return nil
}

// undo restores every file after a failed restart and restarts again.
func (r *Runner) undo(a *applied, cause error) error {
	fmt.Fprintf(r.Out, "FAILED: %v\nrestoring every file from its backup\n", cause)
	if err := a.rollback(); err != nil {
		return fmt.Errorf("%v; restoring the files failed too: %v (backups in %s)", cause, err, a.h.Path(a.plan.backupDir()))
	}
	a.finished()
	for _, c := range a.plan.Changes {
		fmt.Fprintf(r.Out, "restored %s\n", c.Path)
	}
	fmt.Fprintf(r.Out, "restarting the kubelet again: %s\n", r.Restart.Command)
	if err := r.Restart.Restart(); err != nil {
		return fmt.Errorf("%v; every file was restored, and the restart after that failed too: %v", cause, err)
	}
	return fmt.Errorf("%v; every file was restored and the kubelet is healthy again", cause)
}

// validate stages the result in a temporary folder and runs the checks.
func (r *Runner) validate(o Options, p *Plan) error {
	tmp, err := os.MkdirTemp("", "ncp-install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	s, err := stage(o, p, tmp)
	if err != nil {
		return fmt.Errorf("staging the result for validation: %w", err)
	}
	if s.KubeletConfig == "" {
		fmt.Fprintln(r.Out, "# validate: no provider config remains to check")
		return nil
	}
	var buf bytes.Buffer
	if n := r.Validate(s, &buf); n > 0 {
		out := strings.ReplaceAll(buf.String(), tmp, "<staged>")
		return fmt.Errorf("the result fails validation with %d problem(s); nothing written:\n%s", n, strings.TrimRight(out, "\n"))
	}
	fmt.Fprintln(r.Out, "# validate: the result has no problems")
	return nil
}

func stage(o Options, p *Plan, tmp string) (Staged, error) {
	h := o.Host
	s := Staged{OnHost: h.OnHost()}
	newContent := map[string]*Change{}
	for _, c := range p.Changes {
		newContent[c.Path] = c
	}
	if p.ProviderDir {
		d := filepath.Join(tmp, "provider-config.d")
		if err := os.Mkdir(d, 0o700); err != nil {
			return s, err
		}
		entries, err := os.ReadDir(h.Path(p.ProviderConfig))
		if err != nil && !os.IsNotExist(err) {
			return s, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(h.Path(p.ProviderConfig), e.Name()))
			if err != nil {
				return s, err
			}
			if err := os.WriteFile(filepath.Join(d, e.Name()), data, 0o600); err != nil {
				return s, err
			}
		}
		for _, c := range p.Changes {
			if filepath.Dir(c.Path) != p.ProviderConfig {
				continue
			}
			dst := filepath.Join(d, filepath.Base(c.Path))
			if c.Remove {
				os.Remove(dst)
			} else if err := os.WriteFile(dst, c.New, 0o600); err != nil {
				return s, err
			}
		}
		if !p.unreferenced {
			s.KubeletConfig = d
		}
	} else if p.ProviderConfig != "" && !p.unreferenced {
		data, ok, err := h.readFile(p.ProviderConfig)
		if err != nil {
			return s, err
		}
		if c := newContent[p.ProviderConfig]; c != nil {
			data, ok = c.New, !c.Remove
		}
		if ok {
			f := filepath.Join(tmp, "provider-config"+filepath.Ext(p.ProviderConfig))
			if err := os.WriteFile(f, data, 0o600); err != nil {
				return s, err
			}
			s.KubeletConfig = f
		}
	}
	if p.Provider == nil {
		return s, nil
	}
	s.ProviderName = p.Provider.Name
	s.BinDir = filepath.Join(tmp, "bin")
	if err := os.Mkdir(s.BinDir, 0o700); err != nil {
		return s, err
	}
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return s, err
	}
	if err := os.Symlink(bin, filepath.Join(s.BinDir, p.Provider.Name)); err != nil {
		return s, err
	}
	s.Args = append([]string(nil), p.Provider.Args...)
	if o.ConfigPath != "" {
		src := h.Path(o.ConfigPath)
		if o.ConfigSource != "" {
			src = o.ConfigSource
		}
		data, err := provider.ReadFile(src, maxHostFile) // a FIFO there is an error, not a wait
		if err != nil {
			return s, fmt.Errorf("our config: %w", err)
		}
		f := filepath.Join(tmp, "config.yaml")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return s, err
		}
		for i, a := range s.Args {
			if a == "--config="+o.ConfigPath {
				s.Args[i] = "--config=" + f
			}
		}
	}
	if s.KubeletConfig == "" {
		return s, errors.New("no provider config staged")
	}
	return s, nil
}
