//go:build linux

package install

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// Host is the node's filesystem as this process sees it. Paths in the
// kubelet's flags, in files and in messages are host paths ("/etc/...");
// Path maps one to where this process opens it.
type Host struct {
	// Root is where the host's / is mounted here: "/" on the node, "/host"
	// in a container that mounts the host there.
	Root string
	// Proc is the host's /proc as seen here; empty means <Root>/proc.
	Proc string
}

// OnHost says this process sees the host's files where the host does (no
// --root, or --root /).
func (h Host) OnHost() bool { return h.Root == "" || h.Root == "/" }

// Path is where this process finds the host path p.
func (h Host) Path(p string) string {
	if h.OnHost() {
		return p
	}
	return filepath.Join(h.Root, p)
}

func (h Host) proc() string {
	if h.Proc != "" {
		return h.Proc
	}
	return h.Path("/proc")
}

// checkHostPath refuses paths a kubelet flag or an environment file cannot
// carry safely: relative ones, and ones with white space or quotes, which
// systemd would split or mangle.
func checkHostPath(what, p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%s %q must be an absolute path", what, p)
	}
	if strings.ContainsAny(p, " \t\n\"'\\$`") {
		return fmt.Errorf("%s %q holds white space, a quote, a backslash or a $, which the kubelet's flag files cannot carry", what, p)
	}
	if filepath.Clean(p) != p {
		return fmt.Errorf("%s %q is not a clean path (try %q)", what, p, filepath.Clean(p))
	}
	return nil
}

// maxHostFile bounds the host files install reads (flag files, units,
// provider configs, its state): each is a few kilobytes.
const maxHostFile = 1 << 20

// readFile reads a host file: nil, false when it does not exist. A FIFO or
// device in its place is an error at once, never a wait
// (provider.ReadFile).
func (h Host) readFile(p string) ([]byte, bool, error) {
	data, err := provider.ReadFile(h.Path(p), maxHostFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
