// Command node-credential-provider is a kubelet image credential provider
// that answers from the credentials a node already has. Run with no command,
// it is the plugin the kubelet executes; the other commands are for people.
package main

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/pflag"

	"github.com/node-credential-provider/node-credential-provider/internal/vlog"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/plugin"
)

const name = "node-credential-provider"

// Exit codes: 0 answered, 1 failed (the kubelet pulls without our
// credentials and logs our stderr), as provider.Decide says, and 2 bad
// usage.
const (
	exitOK    = provider.ExitAnswered
	exitError = provider.ExitFailed
	exitUsage = 2
)

// reaperCommand runs the reaper of helper process groups
// (credhelper.EnableReaper): a hidden command, started by ourselves.
const reaperCommand = "__reap-helpers"

func main() {
	credhelper.EnableReaper("/proc/self/exe", reaperCommand)
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program but the process: its output goes to stdout and
// stderr, our log lines included, and its result is the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Log lines go to this run's stderr, not necessarily the process's.
	vlog.SetOutput(stderr)
	if len(args) > 0 {
		switch args[0] {
		case "explain":
			return runExplain(args[1:], stdin, stdout, stderr)
		case "validate":
			return runValidate(args[1:], stdout, stderr)
		case "cache":
			return runCache(args[1:], stdout, stderr)
		case "version":
			return runVersion(args[1:], stdout, stderr)
		case "export-secret":
			return runExport(args[1:], stdin, stdout, stderr)
		case "install", "uninstall":
			return runInstall(args[0], args[1:], stdout, stderr)
		case "inspect":
			return runInspect(args[1:], stdin, stdout, stderr)
		case reaperCommand:
			return credhelper.Reap(stdin)
		case "help":
			fmt.Fprint(stdout, usage)
			return exitOK
		}
	}
	return runPlugin(args, stdin, stdout, stderr)
}

const usage = `node-credential-provider: kubelet image credential provider for the credentials a node already has.

Usage:
  node-credential-provider [flags] < request.json   answer one CredentialProviderRequest (what the kubelet runs)
  node-credential-provider explain IMAGE [flags]    why the kubelet gets, or does not get, credentials for IMAGE
  node-credential-provider validate [flags]         check our config and the kubelet's CredentialProviderConfig
  node-credential-provider export-secret [flags]    write imagePullSecrets from these sources (export-secret --help)
  node-credential-provider inspect FILE|-           show the registries of Secrets or a docker config (inspect --help)
  node-credential-provider install [flags]          put the plugin on this node: binary, provider entry, kubelet flags (install --help)
  node-credential-provider uninstall [flags]        take away exactly what install added
  node-credential-provider cache list|purge         the node-local cache of helper answers (cache --help)
  node-credential-provider version                  print the version
  node-credential-provider help                     print this help

The kubelet runs it through --image-credential-provider-config and
--image-credential-provider-bin-dir; see the README for a complete config.
Try it by hand:
  echo '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"registry.example.com/app"}' | node-credential-provider

Flags:
`

// newFlagSet makes a flag set with klog's -v, the verbosity operators know.
func newFlagSet(cmd string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.VarP(vlog.Verbosity(), "v", "v", "log verbosity on stderr: 2 shows each decision, 4 each source; no level prints a secret")
	return fs
}

// parseArgs parses a command's flags, with -h/--help added. done says the
// run ends here with code: help was asked for (usage on stdout, 0) or a
// flag is wrong (one line on stderr, 2). Afterwards fs.Usage prints the
// usage on stderr, for the command's own argument checks.
func parseArgs(fs *pflag.FlagSet, cmd, usage string, args []string, stdout, stderr io.Writer) (code int, done bool) {
	help := fs.BoolP("help", "h", false, "print this help")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	fs.Usage = func() { printUsage(stderr) }
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", cmd, err, cmd)
		return exitUsage, true
	}
	if *help {
		printUsage(stdout)
		return exitOK, true
	}
	return 0, false
}

func runPlugin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, stderr)
	so := sourceOptions{plugin: true}
	so.register(fs)
	if code, done := parseArgs(fs, name, usage, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unknown command %q (see %s help)\n", name, fs.Arg(0), name)
		return exitUsage
	}
	if isTerminal(stdin) {
		// A person ran us by hand with nothing piped in: waiting on the
		// terminal would look like a hang.
		fs.Usage()
		return exitUsage
	}
	var ans *provider.Answer
	var o provider.Outcome
	if cfg, err := so.load(fs); err != nil {
		o = provider.Failure(err)
	} else {
		ans, o = plugin.Serve(stdin, stdout, func(req *plugin.Request, image string) (provider.Answer, error) {
			return so.resolve(cfg, req, image)
		})
	}
	logOutcome(ans, o)
	if o.Failed() {
		fmt.Fprintf(stderr, "%s: %s\n", name, o.Error)
	}
	return o.Code
}

// logOutcome says on stderr what we decided: the outcome's warnings and
// notes always, every source's notes at -v=4, a summary at -v=2. Only keys,
// usernames' presence and source names are logged, never a password. When
// the run fails, its one error line already says why, and only -v adds to
// it.
func logOutcome(a *provider.Answer, o provider.Outcome) {
	for _, w := range o.Warnings {
		vlog.Warningf("%s", w)
	}
	for _, n := range o.Notes {
		vlog.Infof("%s", n)
	}
	if a == nil {
		return
	}
	if vlog.V(4).Enabled() {
		for _, s := range a.Steps {
			for _, n := range s.Result.Notes {
				if line := s.Source + ": " + n; !slices.Contains(o.Notes, line) {
					vlog.Infof("%s", line)
				}
			}
		}
	}
	if vlog.V(2).Enabled() {
		keys := make([]string, len(a.Credentials))
		for i, c := range a.Credentials {
			keys[i] = c.Key
		}
		if len(keys) == 0 {
			vlog.Infof("image %s: no credentials in %d sources", a.Image, len(a.Steps))
		} else {
			vlog.Infof("image %s: %d credentials from %s under keys %v, cacheKeyType %s, cacheDuration %s", a.Image, len(keys), a.Source, keys, a.CacheKeyType, a.CacheDuration)
		}
	}
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
