package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/k8sname"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
	"github.com/node-credential-provider/node-credential-provider/provider/plugin"
)

// The kubelet's CredentialProviderConfig group and the versions it reads.
const KubeletGroup = "kubelet.config.k8s.io"

var kubeletVersions = []string{KubeletGroup + "/v1", KubeletGroup + "/v1beta1", KubeletGroup + "/v1alpha1"}

// The credential provider protocol versions a kubelet provider may name.
var pluginAPIVersions = plugin.APIVersions

// KubeletConfig mirrors the kubelet's CredentialProviderConfig
// (k8s.io/kubelet/config/v1). Tests decode the same bytes with the
// kubelet's types to keep the mirror honest.
type KubeletConfig struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Providers  []KubeletProvider `json:"providers"`
}

// KubeletProvider is one provider of a CredentialProviderConfig.
type KubeletProvider struct {
	Name                 string             `json:"name"`
	MatchImages          []string           `json:"matchImages"`
	DefaultCacheDuration *string            `json:"defaultCacheDuration"`
	APIVersion           string             `json:"apiVersion"`
	Args                 []string           `json:"args,omitempty"`
	Env                  []KubeletEnvVar    `json:"env,omitempty"`
	TokenAttributes      *KubeletTokenAttrs `json:"tokenAttributes,omitempty"`
	// File is where the provider was read from (not part of the API).
	File string `json:"-"`
}

// KubeletEnvVar is one env entry of a provider.
type KubeletEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PluginEnv is the env a provider entry for us sets: one Go P. A plugin
// run answers one request, waiting on files, the keyring and helpers; with
// a second P the Go runtime wakes a spinning thread for the goroutines it
// starts itself, before main: one P saves about 5% of a run's CPU time and
// 0.05-0.07x of a hello-world Go binary's wall time (README, Measured).
// The runtime reads the variable as it starts, so only the kubelet can set
// it for us: install writes it, and the example configs carry it. Helpers
// inherit it.
var PluginEnv = []KubeletEnvVar{{Name: "GOMAXPROCS", Value: "1"}}

// KubeletTokenAttrs is a provider's tokenAttributes.
type KubeletTokenAttrs struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                *bool    `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
	OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys,omitempty"`
}

// LoadKubelet reads what the kubelet reads from --image-credential-provider-config:
// a file, or a directory whose *.json, *.yaml and *.yml files are merged in
// sorted order. Decoding is strict, as in the kubelet, which refuses to
// start on any error here.
func LoadKubelet(p string) ([]KubeletProvider, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	files := []string{p}
	if fi.IsDir() {
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".json", ".yaml", ".yml":
				if !e.IsDir() {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no *.json, *.yaml or *.yml files (the kubelet refuses to start)", p)
		}
	}
	var out []KubeletProvider
	seen := map[string]string{}
	for _, f := range files {
		data, err := provider.ReadFile(f, MaxFileSize)
		if err != nil {
			return nil, err
		}
		kc, err := ParseKubelet(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, pr := range kc.Providers {
			if first, dup := seen[pr.Name]; dup {
				return nil, fmt.Errorf("%s: provider %s is also defined in %s (the kubelet refuses to start)", f, quote(pr.Name), first)
			}
			seen[pr.Name] = f
			pr.File = f
			out = append(out, pr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no providers (the kubelet refuses to start: it wants at least one)", p)
	}
	return out, nil
}

// ParseKubelet decodes one CredentialProviderConfig file strictly, as the
// kubelet does, and checks its apiVersion and kind.
func ParseKubelet(data []byte) (*KubeletConfig, error) {
	var kc KubeletConfig
	if err := decodeStrict(data, &kc); err != nil {
		return nil, err
	}
	if !contains(kubeletVersions, kc.APIVersion) || kc.Kind != "CredentialProviderConfig" {
		return nil, fmt.Errorf("apiVersion/kind is %s/%s, expected %s/CredentialProviderConfig", quote(kc.APIVersion), quote(kc.Kind), kubeletVersions[0])
	}
	for i, pr := range kc.Providers {
		if pr.TokenAttributes != nil && kc.APIVersion != kubeletVersions[0] {
			// One type decodes every version; the kubelet's strict decoder
			// of the older ones knows no such field.
			return nil, fmt.Errorf("unknown field \"providers[%d].tokenAttributes\": it exists only in %s", i, kubeletVersions[0])
		}
	}
	return &kc, nil
}

// Problems lists what the kubelet would reject in a provider, and what it
// would accept but never match.
func (p *KubeletProvider) Problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("provider %s: %s: %s", quote(p.Name), field, fmt.Sprintf(format, args...)))
	}
	if !validName(p.Name) {
		bad("name", "must be a file name in the bin dir")
	}
	if !contains(pluginAPIVersions, p.APIVersion) {
		bad("apiVersion", "%s is not one of %s", quote(p.APIVersion), strings.Join(pluginAPIVersions, ", "))
	}
	if len(p.MatchImages) == 0 {
		bad("matchImages", "at least one entry is required")
	}
	for i, m := range p.MatchImages {
		if err := match.ValidatePattern(m); err != nil {
			bad(fmt.Sprintf("matchImages[%d]", i), "%s: %v", quote(m), err)
		}
	}
	if p.DefaultCacheDuration == nil {
		bad("defaultCacheDuration", "required")
	} else if d, err := time.ParseDuration(*p.DefaultCacheDuration); err != nil || d < 0 {
		bad("defaultCacheDuration", "%s is not a non-negative duration", quote(*p.DefaultCacheDuration))
	}
	if t := p.TokenAttributes; t != nil {
		if !strings.HasSuffix(p.APIVersion, "/v1") {
			bad("tokenAttributes", "requires apiVersion credentialprovider.kubelet.k8s.io/v1")
		}
		if t.ServiceAccountTokenAudience == "" {
			bad("tokenAttributes.serviceAccountTokenAudience", "required")
		}
		if t.RequireServiceAccount == nil {
			bad("tokenAttributes.requireServiceAccount", "required")
		}
		if t.CacheType != "Token" && t.CacheType != "ServiceAccount" {
			bad("tokenAttributes.cacheType", "must be Token or ServiceAccount (required since Kubernetes 1.34)")
		}
		if t.RequireServiceAccount != nil && !*t.RequireServiceAccount && len(t.RequiredServiceAccountAnnotationKeys) > 0 {
			bad("tokenAttributes.requiredServiceAccountAnnotationKeys", "requires requireServiceAccount: true")
		}
		required := map[string]bool{}
		for _, list := range []struct {
			field string
			keys  []string
		}{
			{"requiredServiceAccountAnnotationKeys", t.RequiredServiceAccountAnnotationKeys},
			{"optionalServiceAccountAnnotationKeys", t.OptionalServiceAccountAnnotationKeys},
		} {
			seen := map[string]bool{}
			for i, k := range list.keys {
				f := fmt.Sprintf("tokenAttributes.%s[%d]", list.field, i)
				if err := k8sname.AnnotationKey(k); err != nil {
					bad(f, "%s is not a valid annotation key: %v", quote(k), err)
				}
				if seen[k] {
					bad(f, "%s is listed twice", quote(k))
				}
				seen[k] = true
				if list.field == "requiredServiceAccountAnnotationKeys" {
					required[k] = true
				} else if required[k] {
					bad(f, "%s is both required and optional", quote(k))
				}
			}
		}
	}
	return errs
}

// CheckKubelet reads path as the kubelet reads --image-credential-provider-config
// (LoadKubelet) and lists every reason the kubelet would refuse to start
// with it, and what it would accept but never match (Problems). A parity
// test in e2e/tools/kube runs the kubelet's own loader over the same
// configurations.
//
// With binDir (the kubelet's --image-credential-provider-bin-dir), it also
// checks that the directory exists and holds every provider's executable,
// as the kubelet does before it starts; with only, just that provider's (a
// staged bin dir that holds only ours).
func CheckKubelet(path, binDir, only string) ([]KubeletProvider, []error) {
	providers, err := LoadKubelet(path)
	if err != nil {
		return nil, []error{err}
	}
	var errs []error
	for i := range providers {
		for _, p := range providers[i].Problems() {
			errs = append(errs, fmt.Errorf("%s: %w", providers[i].File, p))
		}
	}
	if binDir != "" {
		if fi, err := os.Stat(binDir); err != nil || !fi.IsDir() {
			return providers, append(errs, fmt.Errorf("bin dir %s: not a directory (the kubelet refuses to start)", binDir))
		}
		for i := range providers {
			if !validName(providers[i].Name) || only != "" && providers[i].Name != only {
				continue // a problem already, or not asked about
			}
			bin := filepath.Join(binDir, providers[i].Name)
			fi, err := os.Stat(bin)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("provider %s: %w (the kubelet refuses to start without it)", quote(providers[i].Name), provider.FileError(bin, err)))
			case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
				errs = append(errs, fmt.Errorf("provider %s: %s is not an executable file (the kubelet refuses to start)", quote(providers[i].Name), bin))
			}
		}
	}
	return providers, errs
}

// validName is a provider name the kubelet can run from its bin dir.
func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, "/ ") && n != "." && n != ".."
}

// Routes reports whether the kubelet sends image (normalized) to this
// provider, and by which pattern.
func (p *KubeletProvider) Routes(image string) (string, bool) {
	for _, m := range p.MatchImages {
		if match.Matches(m, image) {
			return m, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// errNotFound is returned by FindProvider.
var errNotFound = errors.New("not found")

// FindProvider returns the provider named name.
func FindProvider(providers []KubeletProvider, name string) (*KubeletProvider, error) {
	for i := range providers {
		if providers[i].Name == name {
			return &providers[i], nil
		}
	}
	return nil, errNotFound
}
