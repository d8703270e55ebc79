package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
	"github.com/node-credential-provider/node-credential-provider/provider/plugin"
	"github.com/node-credential-provider/node-credential-provider/provider/scope"
)

const explainUsage = `Usage: node-credential-provider explain IMAGE [flags]

Answers "why is my pod in ImagePullBackOff": how the kubelet normalizes IMAGE,
whether its CredentialProviderConfig routes it to this plugin, each source in
order with match or no match and why, and the keys and cache hints the
kubelet would get. Usernames are shown, passwords never.

With --kubelet-config and no source flags, the provider's own args from that
config are used, so the answer is the one the kubelet gets.

Flags:
`

// explanation is explain's result; -o json prints it as is.
type explanation struct {
	Image        string          `json:"image"`
	KubeletSends string          `json:"kubeletSends"`
	Kubelet      *kubeletRouting `json:"kubelet,omitempty"`
	Identity     string          `json:"identity"`
	Sources      []sourceReport  `json:"sources"`
	Answer       *answerReport   `json:"answer,omitempty"`
	Problems     []string        `json:"problems,omitempty"`
}

type kubeletRouting struct {
	Config    string            `json:"config"`
	Providers []providerRouting `json:"providers"`
	// Routed is whether the provider named like this plugin gets the image.
	Routed bool `json:"routed"`
}

type providerRouting struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	ThisOne bool   `json:"thisPlugin"`
	Matched string `json:"matchedBy,omitempty"`
	Args    string `json:"args,omitempty"`
	Tokens  bool   `json:"serviceAccountTokens,omitempty"`
}

type sourceReport struct {
	Name     string   `json:"name"`
	Answered bool     `json:"answered"`
	Keys     []string `json:"keys,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Error    string   `json:"error,omitempty"`
}

type answerReport struct {
	ExitCode      int                 `json:"exitCode"`
	Error         string              `json:"error,omitempty"`
	CacheKeyType  string              `json:"cacheKeyType,omitempty"`
	CacheDuration string              `json:"cacheDuration,omitempty"`
	Auth          []credentialSummary `json:"auth"`
}

type credentialSummary struct {
	Key            string `json:"key"`
	Username       string `json:"username"`
	PasswordLength int    `json:"passwordLength"`
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", stderr)
	var so sourceOptions
	so.register(fs)
	kubeletConfig := fs.String("kubelet-config", "", "the kubelet's --image-credential-provider-config (a file or a drop-in directory)")
	providerName := fs.String("provider-name", name, "this plugin's provider name in the kubelet config")
	namespace := fs.String("namespace", "", "explain for a pod in this namespace (with --service-account)")
	serviceAccount := fs.String("service-account", "", "explain for a pod running as this service account")
	annotations := fs.StringToString("annotation", nil, "a service-account annotation the kubelet passes (tokenAttributes), repeatable: --annotation k=v")
	output := fs.StringP("output", "o", "text", "text or json")
	if code, done := parseArgs(fs, name+" explain", explainUsage, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 || (*output != "text" && *output != "json") || (*namespace == "") != (*serviceAccount == "") {
		fs.Usage()
		return exitUsage
	}
	ex := explanation{Image: fs.Arg(0)}
	image, err := match.NormalizeImage(ex.Image)
	if err != nil {
		fmt.Fprintf(stderr, "explain: %q is not an image reference: %v\n", ex.Image, err)
		return exitError
	}
	ex.KubeletSends = image

	if *kubeletConfig != "" {
		routing, prov, err := explainRouting(*kubeletConfig, *providerName, image)
		if err != nil {
			fmt.Fprintf(stderr, "explain: %v\n", err)
			return exitError
		}
		ex.Kubelet = routing
		if prov == nil {
			ex.Problems = append(ex.Problems, fmt.Sprintf("no provider named %q in %s (use --provider-name)", *providerName, *kubeletConfig))
		} else {
			if !ex.Kubelet.Routed {
				ex.Problems = append(ex.Problems, fmt.Sprintf("the kubelet never asks %s about %s: no matchImages entry matches; add %q (patterns match host labels one by one, ports must be equal)", prov.Name, image, match.Registry(image)))
			}
			if !sourceFlagsGiven(fs) {
				// Resolve as the kubelet would run us: its args, its env.
				if err := applyProviderArgs(&so, prov); err != nil {
					fmt.Fprintf(stderr, "explain: %v\n", err)
					return exitError
				}
			}
		}
	}
	cfg, err := so.load(fs)
	if err != nil {
		fmt.Fprintf(stderr, "explain: %s\n", plugin.OneLine(err))
		return exitError
	}
	id := scope.Identity{Annotations: *annotations}
	if *namespace != "" {
		id.HasToken, id.Namespace, id.ServiceAccount = true, *namespace, *serviceAccount
		if aud := cfg.Scoping.Audience; aud != "" {
			id.Audiences = []string{aud}
		}
	}
	ex.Identity = id.String()
	ans := so.resolveFor(cfg, image, id)
	ex.Sources, ex.Answer = reportAnswer(&ans)
	if len(ans.Credentials) == 0 {
		ex.Problems = append(ex.Problems, "no source holds a credential for this image: the pull goes ahead without credentials from this plugin")
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(ex)
	} else {
		printExplanation(stdout, &ex)
	}
	return exitOK
}

// sourceFlagsGiven tells whether the operator chose sources on the command
// line, which then win over the kubelet config's args.
func sourceFlagsGiven(fs *pflag.FlagSet) bool {
	for _, f := range []string{"config", "docker-config", "kubelet-root-dir", "cache-duration"} {
		if fs.Changed(f) {
			return true
		}
	}
	return false
}

// applyProviderArgs parses the provider's args as plugin mode would and
// sets its env, so explain resolves what the kubelet's execution resolves.
func applyProviderArgs(so *sourceOptions, p *config.KubeletProvider) error {
	fs := newFlagSet(name, io.Discard)
	so.register(fs)
	if err := fs.Parse(p.Args); err != nil {
		return fmt.Errorf("provider %q args %v: %w", p.Name, p.Args, err)
	}
	for _, e := range p.Env {
		if err := os.Setenv(e.Name, e.Value); err != nil {
			return fmt.Errorf("provider %q env %s: %w", p.Name, e.Name, err)
		}
	}
	return nil
}

func explainRouting(path, providerName, image string) (*kubeletRouting, *config.KubeletProvider, error) {
	providers, err := config.LoadKubelet(path)
	if err != nil {
		return nil, nil, err
	}
	r := &kubeletRouting{Config: path}
	var ours *config.KubeletProvider
	for i := range providers {
		p := &providers[i]
		pr := providerRouting{Name: p.Name, File: p.File, ThisOne: p.Name == providerName, Args: strings.Join(p.Args, " "), Tokens: p.TokenAttributes != nil}
		if m, ok := p.Routes(image); ok {
			pr.Matched = m
		}
		if pr.ThisOne {
			ours = p
			r.Routed = pr.Matched != ""
		}
		r.Providers = append(r.Providers, pr)
	}
	return r, ours, nil
}

func reportAnswer(a *provider.Answer) ([]sourceReport, *answerReport) {
	var reports []sourceReport
	for _, s := range a.Steps {
		r := sourceReport{Name: s.Source, Notes: s.Result.Notes, Answered: s.Source == a.Source && len(a.Credentials) > 0}
		for _, c := range s.Result.Credentials {
			r.Keys = append(r.Keys, c.Key)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(r.Keys)))
		if s.Err != nil {
			r.Error = plugin.OneLine(s.Err)
		}
		reports = append(reports, r)
	}
	ar := &answerReport{Auth: []credentialSummary{}}
	if errs := a.Errors(); len(a.Credentials) == 0 && len(errs) > 0 {
		ar.ExitCode = exitError
		ar.Error = "the plugin exits 1 and the kubelet logs: " + plugin.OneLine(errors.Join(errs...))
	} else {
		ar.CacheKeyType = a.CacheKeyType
		ar.CacheDuration = a.CacheDuration.String()
	}
	for _, c := range a.Credentials {
		ar.Auth = append(ar.Auth, credentialSummary{Key: c.Key, Username: c.Username, PasswordLength: len(c.Password)})
	}
	return reports, ar
}

func printExplanation(w io.Writer, ex *explanation) {
	fmt.Fprintf(w, "image           %s\n", ex.Image)
	fmt.Fprintf(w, "kubelet sends   %s\n", ex.KubeletSends)
	if k := ex.Kubelet; k != nil {
		fmt.Fprintf(w, "kubelet config  %s\n", k.Config)
		for _, p := range k.Providers {
			mark := "  "
			if p.ThisOne {
				mark = "* "
			}
			status := "not routed (no matchImages entry matches)"
			if p.Matched != "" {
				status = fmt.Sprintf("routed by %q", p.Matched)
			}
			fmt.Fprintf(w, "  %s%-28s %s  [%s]\n", mark, p.Name, status, filepath.Base(p.File))
		}
	}
	fmt.Fprintf(w, "for             %s\n", ex.Identity)
	fmt.Fprintln(w, "sources, in order:")
	for i, s := range ex.Sources {
		verdict := "no credential"
		if s.Answered {
			verdict = "ANSWERS with " + strings.Join(s.Keys, ", ")
		}
		fmt.Fprintf(w, "  %d. %s: %s\n", i+1, s.Name, verdict)
		for _, n := range s.Notes {
			fmt.Fprintf(w, "       %s\n", n)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "       ERROR %s\n", s.Error)
		}
	}
	a := ex.Answer
	if a.ExitCode != 0 {
		fmt.Fprintf(w, "answer          exit %d: %s\n", a.ExitCode, a.Error)
	} else {
		fmt.Fprintf(w, "answer          cacheKeyType %s, cacheDuration %s\n", a.CacheKeyType, a.CacheDuration)
		for _, c := range a.Auth {
			fmt.Fprintf(w, "  %-30s username %q, password <%d characters, not shown>\n", c.Key, c.Username, c.PasswordLength)
		}
	}
	for _, p := range ex.Problems {
		fmt.Fprintf(w, "problem         %s\n", p)
	}
}
