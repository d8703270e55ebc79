package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExamplesDecode(t *testing.T) {
	for _, f := range []string{"examples/node-credential-provider.yaml", "examples/service-account-scoping.yaml"} {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(c.Sources) < 3 {
			t.Errorf("%s: sources %+v", f, c.Sources)
		}
	}
	for _, f := range []string{"examples/kubelet-credential-provider-config.yaml", "examples/kubelet-credential-provider-config-tokens.yaml"} {
		ps, err := LoadKubelet(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, p := range ps {
			if errs := p.Problems(); len(errs) > 0 {
				t.Errorf("%s: %v", f, errs)
			}
			for _, want := range PluginEnv {
				if !slices.Contains(p.Env, want) {
					t.Errorf("%s: provider %s has env %v, want %v as install writes it", f, p.Name, p.Env, want)
				}
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheDurationValue() != time.Minute || c.Cache.TTLValue() != DefaultCacheTTL || c.Cache.NegativeTTLValue() != DefaultNegativeTTL ||
		c.Cache.Dir != DefaultCacheDir || c.Scoping.WithoutToken != TokenlessAllow {
		t.Errorf("defaults: %+v %+v %+v", c, c.Cache, c.Scoping)
	}
	if len(c.Sources) != 1 || c.Sources[0].DockerConfig == nil || c.Sources[0].Name != "sources[0] (dockerConfig)" {
		t.Errorf("default sources: %+v", c.Sources)
	}
	if d := Default(); len(d.Sources) != 1 || d.CacheDurationValue() != time.Minute {
		t.Errorf("Default() = %+v", d)
	}
	t.Setenv("HOME", "/home/x")
	hs := c.HelperSettings("pass")
	if hs.Timeout != DefaultHelperTimeout || hs.Env != nil || hs.CacheTTL != DefaultCacheTTL || len(hs.Watch) != 1 || hs.Watch[0] != "/home/x/.password-store" {
		t.Errorf("helper defaults %+v", hs)
	}
	c2, err := Parse([]byte(head + "helpers: [{name: pass, cacheTTL: 30s, env: {PASSWORD_STORE_DIR: /s}}, {name: other, watch: [/w]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if hs := c2.HelperSettings("pass"); hs.CacheTTL != 30*time.Second || hs.Watch[0] != "/s" {
		t.Errorf("pass settings %+v", hs)
	}
	if hs := c2.HelperSettings("other"); hs.CacheTTL != DefaultCacheTTL || hs.Watch[0] != "/w" {
		t.Errorf("other settings %+v", hs)
	}
}

const head = "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\n"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"apiVersion: v1\nkind: Pod\n", `apiVersion/kind is "v1"/"Pod"`},
		{head + "sources:\n- dockerConfig: {}\n  bogus: 1\n", `unknown field "sources[0].bogus"`},
		{head + "Sources: []\n", `unknown field "Sources"`},
		{head + "cacheDuration: 1m\ncacheDuration: 2m\n", `line 4: duplicate field "cacheDuration"`},
		{`{"apiVersion":"config.node-credential-provider.io/v1alpha1","kind":"NodeCredentialProviderConfig","cache":{"ttl":"1m","ttl":"2m"}}`, `duplicate field "cache.ttl"`},
		{head + "cacheDuration: 5x\n", `cacheDuration: "5x" is not a duration`},
		{head + "cacheDuration: 5\n", `field "cacheDuration" must be a string, not number`},
		{head + "cacheDuration: -1s\n", `cacheDuration: must not be negative`},
		{head + "cache: {dir: relative}\n", `cache.dir: must be an absolute path`},
		{head + "helpers: [{name: pass, timeout: 2m}]\n", `helpers[0].timeout: must be at most 50s`},
		{head + "helpers: [{name: ../evil}]\n", `helpers[0].name: "../evil" is not a helper name`},
		{head + "helpers: [{name: pass}, {name: pass}]\n", `helpers[1].name: duplicate helper "pass"`},
		{head + "helpers: [{name: pass, env: {'A B': x}}]\n", `helpers[0].env: "A B" is not an environment variable name`},
		{head + "scoping: {withoutToken: maybe}\n", `scoping.withoutToken: must be "Allow" or "Deny"`},
		{head + "sources: [{}]\n", `sources[0]: must set exactly one of`},
		{head + "sources: [{dockerConfig: {}, podmanAuth: {}}]\n", `(has 2)`},
		{head + "sources: [{dockerConfig: {paths: [config.json]}}]\n", `sources[0].dockerConfig.paths[0]: must be an absolute path`},
		{head + "sources: [{dockerConfig: {}, matchImages: ['https://r.io']}]\n", `sources[0].matchImages[0]: "https://r.io": must not include a URL scheme`},
		{head + "sources: [{dockerConfig: {}, matchImages: ['r.io:*']}]\n", `no glob in the port`},
		{head + "sources: [{dockerConfig: {}, matchImages: ['r.io/team-*']}]\n", `no glob in the path`},
		{head + "sources: [{dockerConfig: {}, matchImages: ['registry-?.io']}]\n", `'?' breaks the pattern`},
		{head + "sources: [{credentialHelper: {helper: ''}}]\n", `sources[0].credentialHelper.helper`},
		{head + "sources: [{static: {usernameFile: /u, passwordFile: p}}]\n", `sources[0].matchImages: required for a static source`},
		{head + "sources: [{static: {usernameFile: /u, passwordFile: p}, matchImages: [r.io]}]\n", `sources[0].static.passwordFile: must be an absolute path`},
		{head + "sources: [{name: a, dockerConfig: {}}, {name: a, podmanAuth: {}}]\n", `sources[1].name: duplicate source name "a"`},
		{head + "sources: [{dockerConfig: {}, allow: {serviceAccounts: [justname]}}]\n", `sources[0].allow.serviceAccounts[0]: "justname" must be NAMESPACE/NAME`},
		{head + "sources: [\n", `not valid YAML (line 3)`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q)\n error = %v\n want %q", tc.in, err, tc.want)
		}
	}
}

// Every problem is reported at once.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(head + "cacheDuration: x\ncache: {dir: rel}\nsources: [{}]\n"))
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("error = %v", err)
	}
}

func TestYAMLErrorsDoNotQuoteValues(t *testing.T) {
	const secret = "tok-Secret-1234"
	for _, in := range []string{
		head + "helpers: [{name: pass, env: {TOKEN: " + secret + "}\n",
		head + "helpers:\n  - name: pass\n    env:\n      TOKEN: \"" + secret + "\n",
		head + "cacheDuration: [" + secret + "]\n",
	} {
		_, err := Parse([]byte(in))
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("Parse error %v", err)
		}
	}
}

func TestLoadKubeletDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const k = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n"
	write("20-b.yaml", k+"- {name: b, matchImages: [b.io], defaultCacheDuration: 1m, apiVersion: credentialprovider.kubelet.k8s.io/v1}\n")
	write("10-a.json", `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"a","matchImages":["a.io"],"defaultCacheDuration":"1m","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}]}`)
	write("README.md", "ignored")
	ps, err := LoadKubelet(dir)
	if err != nil || len(ps) != 2 || ps[0].Name != "a" || ps[1].Name != "b" || ps[1].File != filepath.Join(dir, "20-b.yaml") {
		t.Fatalf("%+v %v", ps, err)
	}
	if _, ok := ps[0].Routes("a.io/app"); !ok {
		t.Errorf("a does not route a.io/app")
	}
	write("30-dup.yml", k+"- {name: a, matchImages: [c.io], defaultCacheDuration: 1m, apiVersion: credentialprovider.kubelet.k8s.io/v1}\n")
	if _, err := LoadKubelet(dir); err == nil || !strings.Contains(err.Error(), `provider "a" is also defined in`) {
		t.Errorf("duplicate provider: %v", err)
	}
	if _, err := LoadKubelet(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.json") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestKubeletProviderProblems(t *testing.T) {
	d := "1m"
	bad := "x"
	no := false
	for _, tc := range []struct {
		p    KubeletProvider
		want []string
	}{
		{KubeletProvider{Name: "ok", MatchImages: []string{"*.r.io"}, DefaultCacheDuration: &d, APIVersion: "credentialprovider.kubelet.k8s.io/v1"}, nil},
		{KubeletProvider{Name: "a/b", APIVersion: "v1"}, []string{"name: must be a file name", `apiVersion: "v1" is not one of`, "matchImages: at least one", "defaultCacheDuration: required"}},
		{KubeletProvider{Name: "p", MatchImages: []string{"r.io:50*"}, DefaultCacheDuration: &bad, APIVersion: "credentialprovider.kubelet.k8s.io/v1beta1",
			TokenAttributes: &KubeletTokenAttrs{RequireServiceAccount: &no}},
			[]string{"no glob in the port", `defaultCacheDuration: "x"`, "tokenAttributes: requires apiVersion", "serviceAccountTokenAudience: required", "cacheType: must be"}},
	} {
		errs := tc.p.Problems()
		if len(errs) != len(tc.want) {
			t.Errorf("%s: problems %v, want %v", tc.p.Name, errs, tc.want)
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(errs[i].Error(), w) {
				t.Errorf("%s: problem %d = %v, want %q", tc.p.Name, i, errs[i], w)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"examples/node-credential-provider.yaml", "examples/service-account-scoping.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(head + "sources: [{static: {usernameFile: /u, passwordFile: /p}, matchImages: [r.io]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if errs := c.Validate(); len(errs) > 0 {
			t.Fatalf("Parse accepted an invalid config: %v", errs)
		}
		_ = c.CacheDurationValue()
	})
}

// A gigantic value is quoted shortened: the error is one line in the
// kubelet's log.
func TestErrorsQuoteShort(t *testing.T) {
	for _, data := range []string{
		head + "cacheDuration: " + strings.Repeat("9", 500<<10) + "s\n",
		head + "helpers: [{name: " + strings.Repeat("x", 500<<10) + "!}]\n",
		head + "sources: [{dockerConfig: {}, matchImages: ['" + strings.Repeat("a", 500<<10) + ":port']}]\n",
	} {
		_, err := Parse([]byte(data))
		if err == nil || len(err.Error()) > 400 {
			t.Errorf("error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
		}
	}
}

// FuzzKubeletConfig: the kubelet's CredentialProviderConfig, as validate
// reads it, decodes or fails with an error, and its checks never panic.
func FuzzKubeletConfig(f *testing.F) {
	for _, p := range []string{"examples/kubelet-credential-provider-config.yaml", "examples/kubelet-credential-provider-config-tokens.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"x","matchImages":["*.io:5000/a"],"defaultCacheDuration":"1m","apiVersion":"credentialprovider.kubelet.k8s.io/v1","tokenAttributes":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var kc KubeletConfig
		if err := decodeStrict(data, &kc); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for i := range kc.Providers {
			_ = kc.Providers[i].Problems()
			_, _ = kc.Providers[i].Routes("docker.io/library/nginx")
		}
	})
}

func TestNameChecks(t *testing.T) {
	for s, want := range map[string]bool{"GNUPGHOME": true, "_x1": true, "a": true, "": false, "1A": false, "A-B": false, "A B": false} {
		if isEnvName(s) != want {
			t.Errorf("isEnvName(%q) = %v", s, !want)
		}
	}
}

// Each kind's name is the JSON field that sets it, and every pointer field
// of Source is a kind listed in kinds.
func TestKindNamesAreFields(t *testing.T) {
	kindType := reflect.TypeOf((*SourceKind)(nil)).Elem()
	var fields []string
	st := reflect.TypeOf(Source{})
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if f.Type.Implements(kindType) {
			fields = append(fields, strings.Split(f.Tag.Get("json"), ",")[0])
		}
	}
	if !reflect.DeepEqual(fields, KindNames()) {
		t.Errorf("kind fields %v, KindNames %v", fields, KindNames())
	}
}
