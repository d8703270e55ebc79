//go:build linux

package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// Path is where this process finds the host path p.
func (h Host) Path(p string) string {
	if h.Root == "" || h.Root == "/" {
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

// readHostFile reads a host file: nil, false when it does not exist.
func (h Host) readFile(p string) ([]byte, bool, error) {
	data, err := os.ReadFile(h.Path(p))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
