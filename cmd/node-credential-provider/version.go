package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// The build stamps these with -X main.version=... (see the Makefile's
// LDFLAGS). They are plain strings, not k8s.io/component-base/version:
// that package's init compiles apimachinery's version regexps on every
// start, which plugin mode never uses (README, Measured).
var (
	version   string // e.g. v0.1.0 or v0.1.0-3-gabc1234-dirty, from git describe
	commit    string // short commit
	buildDate string // RFC 3339, UTC
)

// versionInfo fills in what the build did not stamp from the module's
// build information: `go install ...@v0.1.0` records the module version,
// and a build in a git checkout records the commit.
func versionInfo() (ver, rev, date string) {
	ver, rev, date = version, commit, buildDate
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	if ver == "" {
		ver = "v0.0.0-dev"
	}
	if rev == "" {
		rev = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return ver, rev, date
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("version", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	if code, done := parseArgs(fs, name+" version", "Usage:\n  "+name+" version\n\nFlags:\n", args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s version: takes no arguments (see %s version --help)\n", name, name)
		return exitUsage
	}
	ver, rev, date := versionInfo()
	fmt.Fprintf(stdout, "%s %s (commit %s, built %s, %s %s/%s)\n", name, ver, rev, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
