package assemble

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/provider"
)

// Finding is one line of what Check found.
type Finding struct {
	// Problem is set when the finding would make the kubelet, or a pull,
	// fail; otherwise it says what was checked and found good.
	Problem bool
	Text    string
}

// Check checks on this node what a valid configuration names: that every
// credential file exists, parses and is readable by its owner only, and
// that every helper it names (including the credsStore and credHelpers of
// docker configs) is on PATH. It is what `validate` runs for our sources;
// findings come in the order of the configuration, helpers last, by name.
func Check(cfg *config.Config, kubeletRootDir string) []Finding {
	c := &Checker{kubeletRootDir: kubeletRootDir}
	for _, h := range cfg.Helpers {
		c.helper(h.Name, "helpers")
	}
	for i := range cfg.Sources {
		if k, ok := kindOf(&cfg.Sources[i]); ok {
			k.check(&cfg.Sources[i], c)
		}
	}
	names := slices.Sorted(maps.Keys(c.helpers))
	for _, h := range names {
		bin := "docker-credential-" + h
		if err := provider.CheckHelperName(h); err != nil {
			// Never looked up: a name with a slash would be a path.
			c.fail("helper named by %s: %v", c.helpers[h], err)
		} else if p, err := exec.LookPath(bin); err != nil {
			c.fail("helper %q (named by %s): %s is not on PATH", h, c.helpers[h], bin)
		} else {
			c.ok("helper %q (named by %s): %s", h, c.helpers[h], p)
		}
	}
	return c.Findings
}

// Checker collects findings.
type Checker struct {
	Findings       []Finding
	kubeletRootDir string
	helpers        map[string]string // helper -> where it was first named
}

func (c *Checker) ok(format string, args ...any) {
	c.Findings = append(c.Findings, Finding{Text: fmt.Sprintf(format, args...)})
}

func (c *Checker) fail(format string, args ...any) {
	c.Findings = append(c.Findings, Finding{Problem: true, Text: fmt.Sprintf(format, args...)})
}

// helper notes that name must be on PATH, named by where.
func (c *Checker) helper(name, where string) {
	if c.helpers == nil {
		c.helpers = map[string]string{}
	}
	if _, seen := c.helpers[name]; !seen {
		c.helpers[name] = where
	}
}

// File checks that a file exists, is regular and, when secret, is readable
// by its owner only; when not secret (a file naming programs we run), that
// only its owner may change it. It reports whether the file can be read.
func (c *Checker) File(path, what string, secret bool) bool {
	fi, err := os.Stat(path)
	if err != nil {
		c.fail("%s: %v", what, provider.FileError(path, err))
		return false
	}
	if !fi.Mode().IsRegular() {
		c.fail("%s: %s: not a regular file", what, path)
		return false
	}
	if secret && fi.Mode().Perm()&0o077 != 0 {
		c.fail("%s: %s: mode %04o lets group or others read it; chmod 600", what, path, fi.Mode().Perm())
	}
	if !secret && fi.Mode().Perm()&0o022 != 0 {
		c.fail("%s: %s: mode %04o lets group or others change it, and it names programs we run; chmod 644 or stricter", what, path, fi.Mode().Perm())
	}
	return true
}
