package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/internal/atomicfile"
	"github.com/node-credential-provider/node-credential-provider/internal/vlog"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/assemble"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/pullsecret"
)

const exportUsage = `Usage:
  node-credential-provider export-secret --name NAME --namespace NS [--namespace NS2 ...]
      (--registry R ... | --image IMAGE ... | --all) [source flags] [-o yaml|json] [--output-file PATH]
  node-credential-provider export-secret --name NAME --namespace NS [--registry R] --username U --password-stdin

Writes kubernetes.io/dockerconfigjson Secrets, one per namespace, holding the
credentials this node's sources give (the same sources and rules as plugin
mode, so credentials kept by a credential store are included), in exactly the
form of kubectl create secret docker-registry. Apply them with
  node-credential-provider export-secret ... | kubectl apply -f -

Flags:
`

// dockerHubServer is kubectl's default --docker-server.
const dockerHubServer = credhelper.DockerHubServerURL

// maxPasswordSize bounds --password-stdin; registry tokens are a few KiB.
const maxPasswordSize = 64 << 10

type exportFlags struct {
	name          string
	namespaces    []string
	registries    []string
	images        []string
	all           bool
	allowMissing  bool
	username      string
	passwordStdin bool
	password      string
	email         string
	output        string
	outputFile    string
	labels        []string
	annotations   []string
}

func runExport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const cmd = name + " export-secret"
	fs := newFlagSet(cmd, stderr)
	var f exportFlags
	fs.StringVar(&f.name, "name", "", "name of the Secret (required)")
	fs.StringArrayVarP(&f.namespaces, "namespace", "n", nil, "namespace to write a Secret for; repeatable, one Secret each (required)")
	fs.StringArrayVar(&f.registries, "registry", nil, "registry to include, written as given (like kubectl's --docker-server), with the credential the kubelet would use for images under it; repeatable")
	fs.StringArrayVar(&f.images, "image", nil, "image to include: the credential the kubelet would use for it, under the key it would match; repeatable")
	fs.BoolVar(&f.all, "all", false, "include every key the sources can answer for")
	fs.BoolVar(&f.allowMissing, "allow-missing", false, "warn about registries and images without a credential instead of failing")
	fs.StringVar(&f.username, "username", "", "write this username for one registry (--registry, default "+dockerHubServer+"), with the password read from stdin; no source is consulted")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password for --username from stdin, as docker login --password-stdin does")
	fs.StringVar(&f.password, "password", "", "")
	_ = fs.MarkHidden("password") // only to refuse it with a useful message
	fs.StringVar(&f.email, "email", "", "email to write with every registry (kubectl's --docker-email); optional")
	fs.StringVarP(&f.output, "output", "o", "yaml", "yaml (one document per namespace) or json (a v1 List)")
	fs.StringVar(&f.outputFile, "output-file", "", "write to PATH (atomically, mode 0600) instead of stdout")
	fs.StringArrayVar(&f.labels, "label", nil, "label KEY=VALUE for every Secret; repeatable")
	fs.StringArrayVar(&f.annotations, "annotation", nil, "annotation KEY=VALUE for every Secret; repeatable")
	var so sourceOptions
	so.register(fs)
	_ = fs.MarkHidden("cache-duration") // plugin mode only
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", cmd, fmt.Sprintf(format, a...), cmd)
		return exitUsage
	}
	if code, done := parseArgs(fs, cmd, exportUsage, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if fs.Changed("password") {
		// Not echoed: it is a password.
		return usageErr("passwords are never taken on the command line, where other users and the shell history see them; use --username U --password-stdin")
	}
	if f.name == "" {
		return usageErr("--name is required")
	}
	if len(f.namespaces) == 0 {
		return usageErr("--namespace is required: an imagePullSecret works only in its pod's namespace")
	}
	if f.output != "yaml" && f.output != "json" {
		return usageErr("--output must be yaml or json, not %q", f.output)
	}
	labels, err := keyValues("--label", f.labels)
	if err != nil {
		return usageErr("%v", err)
	}
	annotations, err := keyValues("--annotation", f.annotations)
	if err != nil {
		return usageErr("%v", err)
	}

	var entries []pullsecret.Entry
	switch {
	case f.username != "" || f.passwordStdin:
		if f.username == "" || !f.passwordStdin {
			return usageErr("--username and --password-stdin go together")
		}
		if len(f.images) > 0 || f.all || len(f.registries) > 1 {
			return usageErr("--username writes one registry: give at most one --registry, and no --image or --all")
		}
		server := dockerHubServer
		if len(f.registries) == 1 {
			server = f.registries[0]
		}
		pw, err := readPassword(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "%s: --password-stdin: %v\n", cmd, err)
			return exitError
		}
		entries = []pullsecret.Entry{{Server: server, Username: f.username, Password: pw}}
	case len(f.registries) == 0 && len(f.images) == 0 && !f.all:
		return usageErr("name what to export: --registry, --image or --all")
	default:
		cfg, err := so.load(fs)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", cmd, provider.OneLine(err))
			return exitError
		}
		// Exporting is an operator's act on the whole store: the per-pod
		// allow rules govern what the kubelet gets, not what root exports.
		run := assemble.New(cfg, assemble.Facts{KubeletRootDir: so.kubeletRootDir, Unscoped: true})
		col, err := pullsecret.Collect(run.Store, pullsecret.Request{Registries: f.registries, Images: f.images, All: f.all})
		if err != nil {
			return usageErr("%v", err)
		}
		if vlog.V(4).Enabled() {
			for _, n := range col.Notes {
				vlog.Infof("%s", n)
			}
		}
		for _, p := range col.Problems {
			fmt.Fprintf(stderr, "%s: warning: %v\n", cmd, p)
		}
		for _, m := range col.Missing {
			if f.allowMissing {
				fmt.Fprintf(stderr, "%s: warning: %s left out: %s\n", cmd, m.What, m.Reason)
			} else {
				fmt.Fprintf(stderr, "%s: %s: %s\n", cmd, m.What, m.Reason)
			}
		}
		if len(col.Missing) > 0 && !f.allowMissing {
			fmt.Fprintf(stderr, "%s: nothing written: %d of what was asked for has no credential (--allow-missing writes the rest)\n", cmd, len(col.Missing))
			return exitError
		}
		entries = col.Entries
	}
	for i := range entries {
		entries[i].Email = f.email
	}

	secrets, err := pullsecret.Build(pullsecret.Meta{Name: f.name, Labels: labels, Annotations: annotations}, f.namespaces, entries)
	if err != nil {
		fmt.Fprintf(stderr, "%s: nothing written: %v\n", cmd, err)
		return exitError
	}
	var out bytes.Buffer
	if f.output == "json" {
		err = pullsecret.WriteJSON(&out, secrets)
	} else {
		err = pullsecret.WriteYAML(&out, secrets)
	}
	if err == nil {
		if f.outputFile != "" {
			err = atomicfile.Write(f.outputFile, out.Bytes(), 0o600, -1, -1)
		} else {
			_, err = stdout.Write(out.Bytes())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return exitError
	}
	vlog.V(2).Infof("wrote %d Secret(s) %q with %d registries", len(secrets), f.name, len(entries))
	return exitOK
}

// keyValues parses repeated KEY=VALUE flags.
func keyValues(flagName string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flagName, kv)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%s: key %q given twice", flagName, k)
		}
		m[k] = v
	}
	return m, nil
}

// readPassword reads a password as docker login --password-stdin does: all
// of stdin, less one trailing newline (and a carriage return before it).
func readPassword(stdin io.Reader) (string, error) {
	if isTerminal(stdin) {
		return "", errors.New("stdin is a terminal; pipe the password in")
	}
	data, err := io.ReadAll(io.LimitReader(stdin, maxPasswordSize+1))
	if err != nil {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	if len(data) > maxPasswordSize {
		return "", fmt.Errorf("more than %d KiB on stdin", maxPasswordSize>>10)
	}
	pw := strings.TrimSuffix(string(data), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", errors.New("stdin is empty")
	}
	return pw, nil
}
