package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/spf13/pflag"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/assemble"
)

const validateUsage = `Usage: node-credential-provider validate [flags]

Checks our configuration and the kubelet's CredentialProviderConfig before the
kubelet does: the provider entry (name equal to the binary's file name,
apiVersion, matchImages without globs in port or path, defaultCacheDuration),
that credential files exist, parse and are not readable by group or others,
and that every named credential helper is on PATH. Prints every problem and
exits 1 if there is one.

Flags:
`

type validation struct {
	out      io.Writer
	problems int
	// binaryOf, when set, is the one provider whose binary the bin dir
	// must hold (install stages only ours); otherwise every provider's.
	binaryOf string
}

func (v *validation) ok(format string, args ...any) {
	fmt.Fprintf(v.out, "ok       %s\n", fmt.Sprintf(format, args...))
}

// note is neither ok nor a problem: something to change, not to fix.
func (v *validation) note(format string, args ...any) {
	fmt.Fprintf(v.out, "note     %s\n", fmt.Sprintf(format, args...))
}

func (v *validation) fail(format string, args ...any) {
	v.problems++
	fmt.Fprintf(v.out, "PROBLEM  %s\n", fmt.Sprintf(format, args...))
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fset := newFlagSet("validate", stderr)
	var so sourceOptions
	so.register(fset)
	kubeletConfig := fset.String("kubelet-config", "", "the kubelet's --image-credential-provider-config (a file or a drop-in directory)")
	binDir := fset.String("bin-dir", "", "the kubelet's --image-credential-provider-bin-dir: check the binary is there")
	providerName := fset.String("provider-name", filepath.Base(os.Args[0]), "this plugin's provider name in the kubelet config (default: this binary's file name)")
	if code, done := parseArgs(fset, name+" validate", validateUsage, args, stdout, stderr); done {
		return code
	}
	if fset.NArg() != 0 {
		fset.Usage()
		return exitUsage
	}
	v := &validation{out: stdout}
	v.all(*kubeletConfig, *providerName, *binDir, &so, fset, !sourceFlagsGiven(fset), nil, true)
	if v.problems > 0 {
		fmt.Fprintf(stdout, "%d problem(s)\n", v.problems)
		return exitError
	}
	fmt.Fprintln(stdout, "no problems")
	return exitOK
}

// all makes every check of validate: the kubelet's provider config when
// kubeletConfig is set, our config, and the sources it names (only when
// onHost: install under --root sees them elsewhere). args, when not nil,
// stand for the provider's own args.
func (v *validation) all(kubeletConfig, providerName, binDir string, so *sourceOptions, fset *pflag.FlagSet, useArgs bool, args []string, onHost bool) {
	var prov *config.KubeletProvider
	if kubeletConfig != "" {
		prov = v.kubelet(kubeletConfig, providerName, binDir, so, useArgs, args)
	}
	if so.configFile != "" {
		v.checkFile(so.configFile, "our config", false)
	}
	cfg, err := so.load(fset)
	if err != nil {
		v.fail("%s", provider.OneLine(err))
		return
	}
	if so.configFile != "" {
		v.ok("%s: valid %s", so.configFile, config.Kind)
	}
	if onHost {
		v.sources(cfg, so.kubeletRootDir)
	} else {
		v.ok("sources not checked: their paths are host paths, outside this --root view")
	}
	if prov != nil {
		v.scoping(cfg, prov)
	}
}

func (v *validation) kubelet(path, providerName, binDir string, so *sourceOptions, useArgs bool, args []string) *config.KubeletProvider {
	providers, errs := config.CheckKubelet(path, binDir, v.binaryOf)
	if providers == nil && len(errs) > 0 {
		v.fail("kubelet config: %v", errs[0])
		return nil
	}
	v.ok("kubelet config %s: %d provider(s) decode strictly", path, len(providers))
	for _, err := range errs {
		v.fail("kubelet config %v", err)
	}
	if providerName == "" {
		return nil
	}
	p, err := config.FindProvider(providers, providerName)
	if err != nil {
		v.fail("kubelet config: no provider named %q; the kubelet runs <bin-dir>/<name>, so the name must be this binary's file name", providerName)
		return nil
	}
	v.ok("provider %q found in %s, matchImages %v", p.Name, p.File, p.MatchImages)
	for _, e := range config.PluginEnv {
		if !slices.Contains(p.Env, e) {
			v.note("provider %q: env does not set %s=%s, which install writes: every run starts slower without it (README, Measured)", p.Name, e.Name, e.Value)
		}
	}
	if args != nil {
		cp := *p
		cp.Args = args
		p = &cp
	}
	if useArgs {
		if err := applyProviderArgs(so, p); err != nil {
			v.fail("%v", err)
		} else if len(p.Args) > 0 {
			v.ok("provider args %v parse", p.Args)
		}
	}
	return p
}

// scoping checks that our allow rules can ever be met by what the kubelet's
// provider sends: a token at all, for our audience, with the annotations
// the rules name. Each mismatch silently denies every pod.
func (v *validation) scoping(cfg *config.Config, p *config.KubeletProvider) {
	ta := p.TokenAttributes
	if ta != nil && cfg.Scoping.Audience != "" && ta.ServiceAccountTokenAudience != cfg.Scoping.Audience {
		v.fail("scoping.audience %q differs from the kubelet provider's tokenAttributes.serviceAccountTokenAudience %q: every token would be refused",
			cfg.Scoping.Audience, ta.ServiceAccountTokenAudience)
	}
	passed := map[string]bool{}
	if ta != nil {
		for _, k := range append(append([]string{}, ta.RequiredServiceAccountAnnotationKeys...), ta.OptionalServiceAccountAnnotationKeys...) {
			passed[k] = true
		}
	}
	for _, s := range cfg.Sources {
		if s.Allow == nil {
			continue
		}
		if ta == nil {
			if !s.Allow.WithoutToken {
				v.fail("%s: has allow rules, but the kubelet provider %q has no tokenAttributes, so no request carries a service-account token and the source serves no pod", s.Name, p.Name)
			}
			continue
		}
		keys := make([]string, 0, len(s.Allow.Annotations))
		for k := range s.Allow.Annotations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !passed[k] {
				v.fail("%s: allow.annotations names %q, which the kubelet provider's tokenAttributes neither require nor allow as optional, so it never arrives and the source serves no pod", s.Name, k)
			}
		}
	}
}

// sources checks every file and helper the configuration names.
func (v *validation) sources(cfg *config.Config, kubeletRootDir string) {
	v.report(assemble.Check(cfg, kubeletRootDir))
}

// checkFile checks a file as assemble.Checker.File does. It reports whether
// the file can be read.
func (v *validation) checkFile(path, what string, secret bool) bool {
	var c assemble.Checker
	readable := c.File(path, what, secret)
	v.report(c.Findings)
	return readable
}

func (v *validation) report(findings []assemble.Finding) {
	for _, f := range findings {
		if f.Problem {
			v.fail("%s", f.Text)
		} else {
			v.ok("%s", f.Text)
		}
	}
}
