package main

import (
	"encoding/json"
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
       node-credential-provider explain --request FILE|- [flags]

Answers "why is my pod in ImagePullBackOff": how the kubelet normalizes IMAGE,
whether its CredentialProviderConfig routes it to this plugin, each source in
order with match or no match and why, and the keys and cache hints the
kubelet would get. Usernames are shown, passwords never.

The verdict is plugin mode's, decided by the same code: its exit code, the
one line it prints on stderr when it fails (the line the kubelet logs), and
what it logs next to an answer. explain exits with that code: 0 the plugin
answers (perhaps with no credentials), 1 it fails. Problems found on the way
(an image the kubelet config never routes here) are listed but do not
change the code.

With --kubelet-config and no source flags, the provider's own args from that
config are used, so the answer is the one the kubelet gets.

For a pod: --namespace and --service-account (and --annotation), or
--request with a CredentialProviderRequest as the kubelet sends it, token and
annotations included (read, never printed). Only with --request is a
credential whose password is the pod's own token refused, as plugin mode
refuses it.

Flags:
`

// explanation is explain's result; -o json prints it as is.
type explanation struct {
	Image        string          `json:"image"`
	KubeletSends string          `json:"kubeletSends"`
	Kubelet      *kubeletRouting `json:"kubelet,omitempty"`
	Identity     string          `json:"identity"`
	Sources      []sourceReport  `json:"sources"`
	// ExitCode, Error, Warnings and Notes are plugin mode's outcome for
	// this request: its exit code, its one stderr line when it fails, and
	// what it logs next to an answer.
	ExitCode int      `json:"exitCode"`
	Error    string   `json:"error,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	// Answer is what the kubelet gets; absent when the plugin fails.
	Answer   *answerReport `json:"answer,omitempty"`
	Problems []string      `json:"problems,omitempty"`
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
	CacheKeyType  string              `json:"cacheKeyType"`
	CacheDuration string              `json:"cacheDuration"`
	Auth          []credentialSummary `json:"auth"`
}

type credentialSummary struct {
	Key            string `json:"key"`
	Username       string `json:"username"`
	PasswordLength int    `json:"passwordLength"`
}

func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", stderr)
	var so sourceOptions
	so.register(fs)
	kubeletConfig := fs.String("kubelet-config", "", "the kubelet's --image-credential-provider-config (a file or a drop-in directory)")
	providerName := fs.String("provider-name", name, "this plugin's provider name in the kubelet config")
	namespace := fs.String("namespace", "", "explain for a pod in this namespace (with --service-account)")
	serviceAccount := fs.String("service-account", "", "explain for a pod running as this service account")
	annotations := fs.StringToString("annotation", nil, "a service-account annotation the kubelet passes (tokenAttributes), repeatable: --annotation k=v")
	requestFile := fs.String("request", "", "explain this CredentialProviderRequest (a file, - for stdin) as the kubelet sends it, token and annotations included, instead of IMAGE")
	output := fs.StringP("output", "o", "text", "text or json")
	if code, done := parseArgs(fs, name+" explain", explainUsage, args, stdout, stderr); done {
		return code
	}
	if *requestFile != "" && (fs.NArg() != 0 || *namespace != "" || *serviceAccount != "" || len(*annotations) > 0) {
		fmt.Fprintf(stderr, "%s explain: --request names the image and the pod; give no IMAGE, --namespace, --service-account or --annotation with it\n", name)
		return exitUsage
	}
	if *requestFile == "" && fs.NArg() != 1 || (*output != "text" && *output != "json") || (*namespace == "") != (*serviceAccount == "") {
		fs.Usage()
		return exitUsage
	}
	// The request, read as plugin mode reads stdin. A malformed one is
	// plugin mode's failure, reported as its verdict.
	req := &plugin.Request{APIVersion: plugin.APIVersions[0], Image: fs.Arg(0)}
	var reqErr error
	if *requestFile != "" {
		in := stdin
		if *requestFile == "-" && isTerminal(stdin) {
			fmt.Fprintf(stderr, "%s explain: --request -: stdin is a terminal; pipe the request in\n", name)
			return exitUsage
		}
		if *requestFile != "-" {
			f, err := os.Open(*requestFile)
			if err != nil {
				fmt.Fprintf(stderr, "explain: --request: %v\n", err)
				return exitError
			}
			defer f.Close()
			in = f
		}
		req, reqErr = plugin.ReadRequest(in)
	}
	var ex explanation
	image := ""
	if req != nil {
		ex.Image = req.Image
		// An invalid image is left to plugin.Handle, which fails on it as
		// plugin mode does.
		if norm, err := match.NormalizeImage(req.Image); err == nil {
			image, ex.KubeletSends = norm, norm
		}
	}

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
			if image != "" && !ex.Kubelet.Routed {
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
	// Plugin mode's order: its config, then the request, then the answer.
	cfg, cfgErr := so.load(fs)
	var ans *provider.Answer
	var o provider.Outcome
	switch {
	case cfgErr != nil:
		o = provider.Failure(cfgErr)
	case reqErr != nil:
		o = provider.Failure(reqErr)
	default:
		ex.Identity, ans, o = explainHandle(&so, cfg, req, *requestFile != "", scope.Identity{Annotations: *annotations}, *namespace, *serviceAccount)
	}
	ex.ExitCode, ex.Error, ex.Warnings, ex.Notes = o.Code, o.Error, o.Warnings, o.Notes
	if ans != nil {
		ex.Sources = reportSources(ans)
		if !o.Failed() {
			ex.Answer = reportAnswer(ans)
			if len(ans.Credentials) == 0 {
				ex.Problems = append(ex.Problems, "no source holds a credential for this image: the pull goes ahead without credentials from this plugin")
			}
		}
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(ex)
	} else {
		printExplanation(stdout, &ex)
	}
	return o.Code
}

// explainHandle resolves and decides exactly as plugin mode does, with
// plugin.Handle, and names the identity. With fromRequest the identity is
// read from the request's token by plugin mode's own resolver; otherwise
// it is id with the namespace and service account of the flags, and there
// is no token to compare passwords with.
func explainHandle(so *sourceOptions, cfg *config.Config, req *plugin.Request, fromRequest bool, id scope.Identity, namespace, serviceAccount string) (string, *provider.Answer, provider.Outcome) {
	if fromRequest {
		who := "a request whose service-account token cannot be read"
		if id, err := scope.FromRequest(req.ServiceAccountToken, req.ServiceAccountAnnotations); err == nil {
			who = id.String()
		}
		ans, o := plugin.Handle(req, func(req *plugin.Request, image string) (provider.Answer, error) { return so.resolve(cfg, req, image) })
		return who, ans, o
	}
	if namespace != "" {
		id.HasToken, id.Namespace, id.ServiceAccount = true, namespace, serviceAccount
		if aud := cfg.Scoping.Audience; aud != "" {
			id.Audiences = []string{aud}
		}
	}
	ans, o := plugin.Handle(req, func(_ *plugin.Request, image string) (provider.Answer, error) {
		return so.resolveFor(cfg, image, id), nil
	})
	return id.String(), ans, o
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
		if image != "" {
			if m, ok := p.Routes(image); ok {
				pr.Matched = m
			}
		}
		if pr.ThisOne {
			ours = p
			r.Routed = pr.Matched != ""
		}
		r.Providers = append(r.Providers, pr)
	}
	return r, ours, nil
}

func reportSources(a *provider.Answer) []sourceReport {
	var reports []sourceReport
	for _, s := range a.Steps {
		r := sourceReport{Name: s.Source, Notes: s.Result.Notes, Answered: s.Source == a.Source && len(a.Credentials) > 0}
		for _, c := range s.Result.Credentials {
			r.Keys = append(r.Keys, c.Key)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(r.Keys)))
		if s.Err != nil {
			r.Error = provider.OneLine(s.Err)
		}
		reports = append(reports, r)
	}
	return reports
}

func reportAnswer(a *provider.Answer) *answerReport {
	ar := &answerReport{CacheKeyType: a.CacheKeyType, CacheDuration: a.CacheDuration.String(), Auth: []credentialSummary{}}
	for _, c := range a.Credentials {
		ar.Auth = append(ar.Auth, credentialSummary{Key: c.Key, Username: c.Username, PasswordLength: len(c.Password)})
	}
	return ar
}

func printExplanation(w io.Writer, ex *explanation) {
	fmt.Fprintf(w, "image           %s\n", ex.Image)
	if ex.KubeletSends != "" {
		fmt.Fprintf(w, "kubelet sends   %s\n", ex.KubeletSends)
	}
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
	if ex.Identity != "" {
		fmt.Fprintf(w, "for             %s\n", ex.Identity)
	}
	if len(ex.Sources) > 0 {
		fmt.Fprintln(w, "sources, in order:")
	}
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
	if ex.Error != "" {
		fmt.Fprintf(w, "verdict         exit %d, nothing on stdout; the kubelet logs: %s: %s\n", ex.ExitCode, name, ex.Error)
	} else {
		fmt.Fprintf(w, "verdict         exit %d, a response on stdout\n", ex.ExitCode)
	}
	for _, s := range ex.Warnings {
		fmt.Fprintf(w, "  logs warning  %s\n", s)
	}
	for _, n := range ex.Notes {
		fmt.Fprintf(w, "  logs          %s\n", n)
	}
	if a := ex.Answer; a != nil {
		fmt.Fprintf(w, "answer          cacheKeyType %s, cacheDuration %s\n", a.CacheKeyType, a.CacheDuration)
		for _, c := range a.Auth {
			fmt.Fprintf(w, "  %-30s username %q, password <%d characters, not shown>\n", c.Key, c.Username, c.PasswordLength)
		}
	}
	for _, p := range ex.Problems {
		fmt.Fprintf(w, "problem         %s\n", p)
	}
}
