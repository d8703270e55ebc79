//go:build linux

package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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
func (p *Plan) backupDir() string { return backupDir(p.StateDir) }

func backupDir(stateDir string) string { return filepath.Join(stateDir, "backup") }

// pendingName, in the backup folder, says that the operation whose backups
// are there has begun changing files and has not finished: written after the
// backups and before the first change, removed once the operation ended
// with the node either changed and healthy or put back. A process killed in
// between leaves it, and the next install or uninstall puts every file back
// from the backups first (recoverInterrupted).
const pendingName = "pending"

// pending is the marker's content: the folders the run makes, which
// recovery removes again when they are empty.
type pending struct {
	Note string   `json:"note"`
	Dirs []string `json:"dirs,omitempty"`
}

// manifestEntry is one file of a backup manifest.
type manifestEntry struct {
	Path    string `json:"path"`
	Backup  string `json:"backup,omitempty"`
	Existed bool   `json:"existed"`
	Mode    string `json:"mode,omitempty"`
	UID     int    `json:"uid,omitempty"`
	GID     int    `json:"gid,omitempty"`
}

// apply writes the plan: a backup of every file it changes, then each
// change atomically, owned by root, in plan order. On an error it undoes
// what it did and says so.
func apply(h Host, p *Plan) (*applied, error) {
	a := &applied{h: h, plan: p, backups: map[string]string{}, owners: map[string][2]int{}}
	if err := a.backup(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(h.Path(p.backupDir()), 0o700); err != nil {
		return nil, err
	}
	marker, _ := json.MarshalIndent(pending{Note: "an install or uninstall is changing the files of manifest.json", Dirs: p.Dirs}, "", "  ")
	if err := atomicfile.Write(h.Path(filepath.Join(p.backupDir(), pendingName)), append(marker, '\n'), 0o600, 0, 0); err != nil {
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
	a.finished()
	return fmt.Errorf("%w; every file was put back as it was", err)
}

// finished says the operation ended: the node is as planned, or as it was.
func (a *applied) finished() {
	_ = os.Remove(a.h.Path(filepath.Join(a.plan.backupDir(), pendingName)))
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
	var manifest []manifestEntry
	made := false
	for i, c := range p.Changes {
		e := manifestEntry{Path: c.Path, Existed: c.Existed}
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
				e.UID, e.GID = int(st.Uid), int(st.Gid)
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

// recoverInterrupted puts every file back from the backups of an operation
// that was killed while it changed them (its pending marker is still
// there), and says what it did. It writes nothing when there is none.
func recoverInterrupted(h Host, stateDir string, out io.Writer) error {
	dir := backupDir(stateDir)
	markerData, err := os.ReadFile(h.Path(filepath.Join(dir, pendingName)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var marker pending
	if err := json.Unmarshal(markerData, &marker); err != nil {
		return fmt.Errorf("an earlier install or uninstall was interrupted, and its marker %s is not one: %w", h.Path(filepath.Join(dir, pendingName)), err)
	}
	manifestPath := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(h.Path(manifestPath))
	if err != nil {
		return fmt.Errorf("an earlier install or uninstall was interrupted, and its backup manifest cannot be read: %w", err)
	}
	var manifest []manifestEntry
	if err := json.Unmarshal(data, &manifest); err != nil {
		return fmt.Errorf("an earlier install or uninstall was interrupted, and its backup manifest %s is not one: %w", h.Path(manifestPath), err)
	}
	fmt.Fprintf(out, "# an earlier install or uninstall was interrupted while it changed files: putting them back from %s first\n", manifestPath)
	fmt.Fprintln(out, "# (if it had restarted the kubelet, the kubelet reads the files put back on its next start)")
	for i := len(manifest) - 1; i >= 0; i-- {
		e := manifest[i]
		if err := checkHostPath("backup manifest entry", e.Path); err != nil {
			return err
		}
		hp := h.Path(e.Path)
		if !e.Existed {
			if err := os.Remove(hp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing %s: %w", e.Path, err)
			}
			fmt.Fprintf(out, "removed %s (made by the interrupted run)\n", e.Path)
			continue
		}
		if !strings.HasPrefix(e.Backup, dir+"/") {
			return fmt.Errorf("backup manifest %s: the backup of %s is outside %s", h.Path(manifestPath), e.Path, dir)
		}
		old, err := os.ReadFile(h.Path(e.Backup))
		if err != nil {
			return fmt.Errorf("backup of %s: %w", e.Path, err)
		}
		mode, err := strconv.ParseUint(e.Mode, 8, 32)
		if err != nil {
			return fmt.Errorf("backup manifest %s: mode of %s: %w", h.Path(manifestPath), e.Path, err)
		}
		if err := atomicfile.Write(hp, old, os.FileMode(mode), e.UID, e.GID); err != nil {
			return fmt.Errorf("restoring %s: %w", e.Path, err)
		}
		fmt.Fprintf(out, "restored %s\n", e.Path)
	}
	for i := len(marker.Dirs) - 1; i >= 0; i-- {
		if checkHostPath("folder", marker.Dirs[i]) == nil && os.Remove(h.Path(marker.Dirs[i])) == nil {
			fmt.Fprintf(out, "removed %s (made by the interrupted run)\n", marker.Dirs[i])
		}
	}
	return os.Remove(h.Path(filepath.Join(dir, pendingName)))
}
