//go:build linux

package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/node-credential-provider/node-credential-provider/internal/atomicfile"
)

// applied is a plan on its way: what was backed up and what was done, so
// that it can be undone.
type applied struct {
	h       Host
	plan    *Plan
	backups map[string]string // host path -> backup, as this process sees it
	owners  map[string][2]int // host path -> uid, gid before
	done    []*Change
	dirs    []string // folders made
}

// backupDir holds the backups of the last operation that changed files.
func (p *Plan) backupDir() string { return filepath.Join(p.StateDir, "backup") }

// apply writes the plan: a backup of every file it changes, then each
// change atomically, owned by root, in plan order. On an error it undoes
// what it did and says so.
func apply(h Host, p *Plan) (*applied, error) {
	a := &applied{h: h, plan: p, backups: map[string]string{}, owners: map[string][2]int{}}
	if err := a.backup(); err != nil {
		return nil, err
	}
	for _, d := range p.Dirs {
		if err := os.Mkdir(h.Path(d), 0o755); err != nil && !os.IsExist(err) {
			return nil, a.fail(err)
		}
		if err := os.Chown(h.Path(d), 0, 0); err != nil {
			return nil, a.fail(err)
		}
		a.dirs = append(a.dirs, d)
	}
	if err := os.Chmod(h.Path(p.StateDir), 0o700); err != nil && !os.IsNotExist(err) {
		return nil, a.fail(err)
	}
	for _, c := range p.Changes {
		var err error
		if c.Remove {
			err = os.Remove(h.Path(c.Path))
		} else {
			err = atomicfile.Write(h.Path(c.Path), c.New, c.Mode, 0, 0)
		}
		if err != nil {
			return nil, a.fail(fmt.Errorf("%s: %w", c.Path, err))
		}
		a.done = append(a.done, c)
	}
	return a, nil
}

func (a *applied) fail(err error) error {
	if rerr := a.rollback(); rerr != nil {
		return fmt.Errorf("%w; and undoing the changes failed: %v (backups in %s)", err, rerr, a.h.Path(a.plan.backupDir()))
	}
	return fmt.Errorf("%w; every file was put back as it was", err)
}

// backup copies every file the plan changes into a fresh backup folder
// (the previous operation's backups go), with a manifest naming them.
func (a *applied) backup() error {
	p := a.plan
	if len(p.Changes) == 0 {
		return nil
	}
	dir := a.h.Path(p.backupDir())
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	type entry struct {
		Path    string `json:"path"`
		Backup  string `json:"backup,omitempty"`
		Existed bool   `json:"existed"`
		Mode    string `json:"mode,omitempty"`
	}
	var manifest []entry
	made := false
	for i, c := range p.Changes {
		e := entry{Path: c.Path, Existed: c.Existed}
		if c.Existed {
			if !made {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return err
				}
				made = true
			}
			fi, err := os.Stat(a.h.Path(c.Path))
			if err != nil {
				return err
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				a.owners[c.Path] = [2]int{int(st.Uid), int(st.Gid)}
			}
			name := fmt.Sprintf("%02d-%s", i, strings.ReplaceAll(strings.TrimPrefix(c.Path, "/"), "/", "_"))
			b := filepath.Join(dir, name)
			if err := atomicfile.Write(b, c.Old, 0o600, 0, 0); err != nil {
				return fmt.Errorf("backing up %s: %w", c.Path, err)
			}
			a.backups[c.Path] = b
			e.Backup, e.Mode = filepath.Join(p.backupDir(), name), fmt.Sprintf("%04o", c.Mode)
		}
		manifest = append(manifest, e)
	}
	if !made {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	data, _ := json.MarshalIndent(manifest, "", "  ")
	return atomicfile.Write(filepath.Join(dir, "manifest.json"), append(data, '\n'), 0o600, 0, 0)
}

// rollback puts back every file that was changed, byte for byte with its
// mode and owner, and removes the files and folders that were made.
func (a *applied) rollback() error {
	var errs []error
	for i := len(a.plan.Changes) - 1; i >= 0; i-- {
		c := a.plan.Changes[i]
		hp := a.h.Path(c.Path)
		if !c.Existed {
			if err := os.Remove(hp); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
			continue
		}
		data, err := os.ReadFile(a.backups[c.Path])
		if err != nil {
			errs = append(errs, fmt.Errorf("backup of %s: %w", c.Path, err))
			continue
		}
		own := a.owners[c.Path]
		if err := atomicfile.Write(hp, data, c.Mode, own[0], own[1]); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s: %w", c.Path, err))
		}
	}
	for i := len(a.dirs) - 1; i >= 0; i-- {
		_ = os.Remove(a.h.Path(a.dirs[i]))
	}
	return errors.Join(errs...)
}

// finish removes what an uninstall leaves empty: its folders, the state
// folder with its backups.
func (a *applied) finishUninstall() {
	_ = os.RemoveAll(a.h.Path(a.plan.StateDir))
	for _, d := range a.plan.RemoveDirs {
		_ = os.Remove(a.h.Path(d)) // only when empty
	}
}
