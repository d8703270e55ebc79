//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/install"
)

const installUsage = `Usage: node-credential-provider install [flags]
       node-credential-provider uninstall [flags]

Run as root on the node. install puts this binary into the kubelet's
credential provider bin dir, adds our provider entry to the kubelet's
CredentialProviderConfig (our own file in a drop-in directory; merged into a
single file, keeping every other provider), and adds the two kubelet flags
where this node keeps them when the kubelet lacks them. What the node has is
read from the running kubelet's command line in /proc, kubeadm-flags.env,
/etc/default/kubelet or /etc/sysconfig/kubelet and the kubelet's systemd
units; flags override it. The result is validated as validate would before
anything is written; every changed file is backed up and replaced atomically,
and recorded in a state file. A second install changes nothing.

uninstall removes exactly what install added, and keeps everything else.

--print shows what was found and the change as a unified diff, writing
nothing. --restart restarts the kubelet when something changed, waits for its
healthz, and when it does not come back restores every file and restarts
again.

Flags:
`

func runInstall(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(cmd, stderr)
	var o install.Options
	fs.StringVar(&o.Host.Root, "root", "/", "where the host's / is: every host path is read and written under it (a container with the host at /host: --root /host)")
	fs.StringVar(&o.Host.Proc, "proc", "", "the host's /proc, to find the running kubelet (default <root>/proc)")
	fs.IntVar(&o.Detect.PID, "kubelet-pid", 0, "the kubelet's pid, when more than one process is called kubelet")
	fs.StringVar(&o.Detect.FlagsFile, "flags-file", "", "the environment file to add missing kubelet flags to (default: found; /etc/default/kubelet or /etc/sysconfig/kubelet)")
	fs.StringVar(&o.Detect.FlagsVar, "flags-var", "", "the variable in that file (default "+install.ExtraArgsVar+")")
	fs.StringVar(&o.ProviderConfig, "provider-config", "", "the kubelet's --image-credential-provider-config, when it has none yet (default "+install.DefaultProviderConfig+"; end it with / for a drop-in directory, Kubernetes >= 1.34)")
	fs.StringVar(&o.BinDir, "bin-dir", "", "the kubelet's --image-credential-provider-bin-dir, when it has none yet (default "+install.DefaultBinDir+")")
	fs.StringVar(&o.Binary, "binary", "", "the plugin binary to install (default: this binary)")
	fs.StringVar(&o.ProviderName, "provider-name", name, "our provider's name in the kubelet config, and the binary's file name in the bin dir")
	fs.StringArrayVar(&o.MatchImages, "match-image", nil, "repeatable: a matchImages pattern, the registries this node holds credentials for (install needs at least one)")
	fs.StringVar(&o.DefaultCacheDuration, "default-cache-duration", "1m", "the entry's defaultCacheDuration (our answers carry their own)")
	fs.StringVar(&o.APIVersion, "provider-api-version", "credentialprovider.kubelet.k8s.io/v1", "the entry's apiVersion")
	fs.StringArrayVar(&o.Args, "arg", nil, "repeatable: an argument the kubelet passes to the plugin, e.g. --arg=--docker-config=/var/lib/kubelet/config.json")
	fs.StringVar(&o.ConfigPath, "config", "", "our configuration file on the node: the plugin gets --config=PATH")
	fs.StringVar(&o.ConfigSource, "config-from", "", "write this file's content to --config's path (validated first); without it our config is not written")
	fs.StringVar(&o.StateDir, "state-dir", install.DefaultStateDir, "the state file and the last change's backups")
	print := fs.Bool("print", false, "show what was found and what would change, as a unified diff, and write nothing")
	restart := fs.Bool("restart", false, "restart the kubelet when something changed, wait for healthz, roll back if it does not come back")
	var r install.Restarter
	fs.StringVar(&r.Command, "restart-command", install.DefaultRestartCommand, "how to restart the kubelet (run with /bin/sh -c, chrooted into --root when that is not /); it must return once the old kubelet is stopped")
	fs.StringVar(&r.HealthzURL, "healthz-url", install.DefaultHealthzURL, "the kubelet's healthz")
	fs.DurationVar(&r.Timeout, "restart-timeout", install.DefaultRestartTimeout, "how long the restart command and healthz may take together")
	if code, done := parseArgs(fs, name+" "+cmd, installUsage, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "%s %s: finding this binary: %v (name it with --binary)\n", name, cmd, err)
			return exitError
		}
		o.Binary = exe
	}
	runner := &install.Runner{Out: stdout, Print: *print, Validate: validateInstall}
	if err := install.CheckHealthzURL(r.HealthzURL); err != nil {
		fmt.Fprintf(stderr, "%s %s: --healthz-url: %v\n", name, cmd, err)
		return exitUsage
	}
	if r.Timeout <= 0 {
		fmt.Fprintf(stderr, "%s %s: --restart-timeout %s: must be more than 0s\n", name, cmd, r.Timeout)
		return exitUsage
	}
	if *restart && !*print {
		r.Log, r.Root = stderr, o.Host.Root
		runner.Restart = &r
	}
	var err error
	if cmd == "uninstall" {
		err = runner.Uninstall(o)
	} else {
		err = runner.Install(o)
	}
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "\n") {
			msg = strings.TrimSpace(msg)
		}
		fmt.Fprintf(stderr, "%s %s: %s\n", name, cmd, msg)
		return exitError
	}
	return exitOK
}

// validateInstall is install's one way into validate's checks
// (install.Validator): the staged result gets the checks validate makes.
func validateInstall(s install.Staged, w io.Writer) int {
	// The staged bin dir holds only our binary; the others stay where they are.
	v := &validation{out: w, binaryOf: s.ProviderName}
	if s.ProviderName == "" {
		// Uninstall: what remains must still be a config the kubelet takes.
		v.kubelet(s.KubeletConfig, "", "", nil, false, nil)
		return v.problems
	}
	fset := newFlagSet("validate", io.Discard)
	var so sourceOptions
	so.register(fset)
	v.all(s.KubeletConfig, s.ProviderName, s.BinDir, &so, fset, true, s.Args, s.OnHost)
	return v.problems
}
