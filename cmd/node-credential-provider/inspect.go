package main

import (
	"fmt"
	"io"
	"os"

	"github.com/node-credential-provider/node-credential-provider/provider/pullsecret"
)

const inspectUsage = `Usage:
  node-credential-provider inspect FILE|- [--show-secrets]

Shows the image pull Secrets in FILE (YAML or JSON manifests, one or many,
Lists included) or a docker config file: per Secret its namespace, type and
each registry with its username. Passwords are redacted unless --show-secrets.
Exits 1 when a Secret would not give the kubelet a credential, for example a
copy of a config.json whose secrets docker keeps in a credsStore.

Flags:
`

func runInspect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const cmd = name + " inspect"
	fs := newFlagSet(cmd, stderr)
	showSecrets := fs.Bool("show-secrets", false, "print passwords instead of "+pullsecret.Redacted)
	if code, done := parseArgs(fs, cmd, inspectUsage, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "%s: want one FILE, or - for stdin (see %s --help)\n", cmd, cmd)
		return exitUsage
	}
	path := fs.Arg(0)
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return exitError
		}
		defer f.Close()
		in = f
	} else {
		path = "stdin"
	}
	data, err := pullsecret.ReadInspectInput(in)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, path, err)
		return exitError
	}
	reports, err := pullsecret.Inspect(data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, path, err)
		return exitError
	}
	if err := pullsecret.WriteReports(stdout, reports, *showSecrets); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return exitError
	}
	for _, r := range reports {
		if len(r.Problems) > 0 {
			return exitError
		}
	}
	return exitOK
}
