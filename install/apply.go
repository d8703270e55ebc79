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

	"github.com/node-credential-provider/node-credential-provider/internal/atomicfile"
)

// applied is a plan on its way: its backup manifest and the folders it
// made, so that it can be put back.
type applied struct {
	h        Host
	plan     *Plan
	manifest []manifestEntry
	written  int      // changes [0, written) are made
	dirs     []string // folders made
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
// change atomically, in plan order: a new file owned by root, an existing
// one by its owner. On an error it puts back every file it changed
// (restore) and says so.
func apply(h Host, p *Plan) (*applied, error) {
	a := &applied{h: h, plan: p}
	if err := a.backup(); err != nil {
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
			uid, gid := 0, 0 // new files are root's; existing ones keep their owner
			if c.Existed {
				uid, gid = c.OldUID, c.OldGID
			}
			err = atomicfile.Write(h.Path(c.Path), c.New, c.Mode, uid, gid)
		}
		if err != nil {
			// Atomic: the file that failed is as it was.
			return nil, a.fail(fmt.Errorf("%s: %w", c.Path, err))
		}
		a.written++
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
// (the previous operation's backups go), with a manifest naming them and
// their modes and owners as they were.
func (a *applied) backup() error {
	p := a.plan
	dir := a.h.Path(p.backupDir())
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i, c := range p.Changes {
		e := manifestEntry{Path: c.Path, Existed: c.Existed}
		if c.Existed {
			e.UID, e.GID = c.OldUID, c.OldGID
			name := fmt.Sprintf("%02d-%s", i, strings.ReplaceAll(strings.TrimPrefix(c.Path, "/"), "/", "_"))
			if err := atomicfile.Write(filepath.Join(dir, name), c.Old, 0o600, 0, 0); err != nil {
				return fmt.Errorf("backing up %s: %w", c.Path, err)
			}
			e.Backup, e.Mode = filepath.Join(p.backupDir(), name), fmt.Sprintf("%04o", c.OldMode)
		}
		a.manifest = append(a.manifest, e)
	}
	data, _ := json.MarshalIndent(a.manifest, "", "  ")
	return atomicfile.Write(filepath.Join(dir, "manifest.json"), append(data, '\n'), 0o600, 0, 0)
}

// rollback puts back every file the plan changed, byte for byte with its
// mode and owner, and removes the files and folders that were made.
func (a *applied) rollback() error {
	return restore(a.h, a.plan.StateDir, a.manifest[:a.written], a.dirs, nil)
}

// finishUninstall removes what an uninstall leaves empty: its folders, the
// state folder with its backups.
func (a *applied) finishUninstall() {
	_ = os.RemoveAll(a.h.Path(a.plan.StateDir))
	for _, d := range a.plan.RemoveDirs {
		_ = os.Remove(a.h.Path(d)) // only when empty
	}
}

// restore puts every file of a backup manifest back, last first: a file
// that existed byte for byte with its mode and owner, one that did not is
// removed; then the folders made, deepest first, when empty. It goes on
// past a failure and returns them all. out, when not nil, hears what it did.
func restore(h Host, stateDir string, manifest []manifestEntry, dirs []string, out io.Writer) error {
	say := func(format string, args ...any) {
		if out != nil {
			fmt.Fprintf(out, format, args...)
		}
	}
	dir := backupDir(stateDir)
	var errs []error
	for i := len(manifest) - 1; i >= 0; i-- {
		e := manifest[i]
		if err := checkHostPath("backup manifest entry", e.Path); err != nil {
			errs = append(errs, err)
			continue
		}
		hp := h.Path(e.Path)
		if !e.Existed {
			if err := os.Remove(hp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing %s: %w", e.Path, err))
				continue
			}
			say("removed %s (made by the interrupted run)\n", e.Path)
			continue
		}
		if !strings.HasPrefix(e.Backup, dir+"/") {
			errs = append(errs, fmt.Errorf("the backup of %s is outside %s", e.Path, dir))
			continue
		}
		old, err := os.ReadFile(h.Path(e.Backup))
		if err != nil {
			errs = append(errs, fmt.Errorf("backup of %s: %w", e.Path, err))
			continue
		}
		mode, err := strconv.ParseUint(e.Mode, 8, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("the mode of %s in the backup manifest: %w", e.Path, err))
			continue
		}
		if err := atomicfile.Write(hp, old, os.FileMode(mode), e.UID, e.GID); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s: %w", e.Path, err))
			continue
		}
		say("restored %s\n", e.Path)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if checkHostPath("folder", dirs[i]) == nil && os.Remove(h.Path(dirs[i])) == nil {
			say("removed %s (made by the interrupted run)\n", dirs[i])
		}
	}
	return errors.Join(errs...)
}

// recoverInterrupted puts every file back from the backups of an operation
// that was killed while it changed them (its pending marker is still
// there), and says what it did; recovered says it found one. It writes
// nothing when there is none.
func recoverInterrupted(h Host, stateDir string, out io.Writer) (recovered bool, err error) {
	dir := backupDir(stateDir)
	markerData, err := os.ReadFile(h.Path(filepath.Join(dir, pendingName)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var marker pending
	if err := json.Unmarshal(markerData, &marker); err != nil {
		return false, fmt.Errorf("an earlier install or uninstall was interrupted, and its marker %s is not one: %w", h.Path(filepath.Join(dir, pendingName)), err)
	}
	manifestPath := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(h.Path(manifestPath))
	if err != nil {
		return false, fmt.Errorf("an earlier install or uninstall was interrupted, and its backup manifest cannot be read: %w", err)
	}
	var manifest []manifestEntry
	if err := json.Unmarshal(data, &manifest); err != nil {
		return false, fmt.Errorf("an earlier install or uninstall was interrupted, and its backup manifest %s is not one: %w", h.Path(manifestPath), err)
	}
	fmt.Fprintf(out, "# an earlier install or uninstall was interrupted while it changed files: putting them back from %s first\n", manifestPath)
	fmt.Fprintln(out, "# (if it had restarted the kubelet, the kubelet reads the files put back on its next start; --restart restarts it)")
	if err := restore(h, stateDir, manifest, marker.Dirs, out); err != nil {
		return true, fmt.Errorf("putting back the files of an interrupted install or uninstall: %w (backups in %s; the marker %s stays)", err, h.Path(dir), pendingName)
	}
	return true, os.Remove(h.Path(filepath.Join(dir, pendingName)))
}
