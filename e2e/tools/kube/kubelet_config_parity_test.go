package kube_test

// A differential test of `validate`'s check of the kubelet's
// CredentialProviderConfig (config.CheckKubelet) against the kubelet's own
// loader, k8s.io/kubernetes/pkg/credentialprovider/plugin's
// RegisterCredentialProviderPlugins: decoding (strict, per version),
// drop-in directories, validation, the binaries in the bin dir. Each
// configuration of the table is given to both; they must agree on accept
// or refuse, and the table states the kubelet's verdict, so that a change
// on either side fails the test. Where we refuse what the kubelet accepts
// (a pattern it takes but never matches), the row says why.
//
// The kubelet's loader registers providers in package state and panics on
// a name registered twice, and blocks for ever reading a FIFO, so each
// configuration runs in a child process (TestMain) with a deadline.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kubeletplugin "k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/node-credential-provider/node-credential-provider/config"
)

const (
	childConfigEnv = "NCP_PARITY_KUBELET_CONFIG"
	childBinDirEnv = "NCP_PARITY_KUBELET_BIN_DIR"
	childHangAfter = 5 * time.Second
	childMark      = "\n<<verdict>> " // klog may write to stdout before it
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childConfigEnv); path != "" {
		err := kubeletplugin.RegisterCredentialProviderPlugins(path, os.Getenv(childBinDirEnv), nil, nil)
		if err != nil {
			fmt.Print(childMark+"refused: ", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Print(childMark + "accepted")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type verdict string

const (
	accepts verdict = "accepts"
	refuses verdict = "refuses"
	hangs   verdict = "hangs" // blocks at start-up: it never runs, so it refuses too
)

// kubeletVerdict runs the kubelet's loader over path in a child process.
func kubeletVerdict(t *testing.T, path, binDir string) (verdict, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childHangAfter)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childConfigEnv+"="+path, childBinDirEnv+"="+binDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return hangs, "no answer within " + childHangAfter.String()
	}
	if err != nil {
		t.Fatalf("the kubelet's loader failed to run: %v: %s", err, out)
	}
	i := strings.LastIndex(string(out), childMark)
	if i < 0 {
		t.Fatalf("the kubelet's loader said %q", out)
	}
	s := string(out[i+len(childMark):])
	switch {
	case s == "accepted":
		return accepts, ""
	case strings.HasPrefix(s, "refused: "):
		return refuses, strings.TrimPrefix(s, "refused: ")
	}
	t.Fatalf("the kubelet's loader said %q", out)
	return "", ""
}

// A file of a case: content, or one of the special values below.
const (
	fifo    = "<fifo>"
	subdir  = "<dir>"
	linkTo  = "<symlink>" // linkTo + target
	binName = "ncp"       // every case's provider binaries: ncp, ncp2, ncp3
)

type configCase struct {
	name string
	// files to create under the case's directory; path is what the kubelet
	// is given, relative to it.
	files   map[string]string
	path    string
	kubelet verdict
	// deviation: we refuse what the kubelet accepts, and why.
	deviation string
}

const header = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n"

// prov is one provider entry in YAML, with extra lines appended (indented
// as its fields).
func prov(name string, extra ...string) string {
	s := fmt.Sprintf("- name: %s\n  matchImages: [\"quay.io\"]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n", name)
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	return s
}

// withField is prov with one of its standard lines replaced.
func withField(name, old, repl string) string {
	return strings.Replace(prov(name), old, repl, 1)
}

func one(content string) map[string]string { return map[string]string{"config.yaml": content} }

const tokenOK = `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: ["example.com/team"], optionalServiceAccountAnnotationKeys: ["example.com/env", "Example.com/Mixed-Case"]}`

var configCases = []configCase{
	// Accepted.
	{name: "minimal", files: one(header + prov("ncp")), kubelet: accepts},
	{name: "json", files: map[string]string{"config.json": `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"ncp","matchImages":["quay.io"],"defaultCacheDuration":"1m","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}]}`}, path: "config.json", kubelet: accepts},
	{name: "v1beta1", files: one(strings.Replace(header, "/v1\n", "/v1beta1\n", 1) + withField("ncp", "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1")), kubelet: accepts},
	{name: "v1alpha1", files: one(strings.Replace(header, "/v1\n", "/v1alpha1\n", 1) + withField("ncp", "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1alpha1")), kubelet: accepts},
	{name: "token-attributes", files: one(header + prov("ncp", tokenOK)), kubelet: accepts},
	{name: "token-serviceaccount-cache", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: ServiceAccount, requireServiceAccount: false, optionalServiceAccountAnnotationKeys: ["a"]}`)), kubelet: accepts},
	{name: "zero-cache-duration", files: one(header + withField("ncp", "1m", "0s")), kubelet: accepts},
	{name: "args-env-globs-ports-paths", files: one(header + withField("ncp", `["quay.io"]`, `["*.example.com", "localhost:5000", "quay.io/v2/team", "[::1]:5000"]`) + "  args: [--v=2]\n  env: [{name: HOME, value: /root}]\n"), kubelet: accepts},
	{name: "three-providers", files: one(header + prov("ncp") + prov("ncp2") + prov("ncp3")), kubelet: accepts},
	{name: "dir-two-files", files: map[string]string{"d/10-a.yaml": header + prov("ncp"), "d/20-b.yml": header + prov("ncp2"), "d/README.md": "not read"}, path: "d", kubelet: accepts},
	{name: "dir-symlinked-file", files: map[string]string{"real.yaml": header + prov("ncp"), "d/a.yaml": linkTo + "../real.yaml"}, path: "d", kubelet: accepts},
	{name: "dir-subdir-named-yaml", files: map[string]string{"d/a.yaml": header + prov("ncp"), "d/sub.yaml": subdir}, path: "d", kubelet: accepts},
	{name: "dir-given-through-symlink", files: map[string]string{"real/a.yaml": header + prov("ncp"), "d": linkTo + "real"}, path: "d", kubelet: accepts},
	{name: "file-given-through-symlink", files: map[string]string{"real.yaml": header + prov("ncp"), "link.yaml": linkTo + "real.yaml"}, path: "link.yaml", kubelet: accepts},

	// Refused by the kubelet.
	{name: "no-providers", files: one(header[:len(header)-len("providers:\n")] + "providers: []\n"), kubelet: refuses},
	{name: "providers-missing", files: one(header[:len(header)-len("providers:\n")]), kubelet: refuses},
	{name: "require-false-with-required-keys", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token, requireServiceAccount: false, requiredServiceAccountAnnotationKeys: ["example.com/team"]}`)), kubelet: refuses},
	{name: "annotation-key-invalid", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token, requireServiceAccount: true, optionalServiceAccountAnnotationKeys: ["not a key!"]}`)), kubelet: refuses},
	{name: "annotation-key-two-slashes", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: ["a/b/c"]}`)), kubelet: refuses},
	{name: "annotation-key-required-and-optional", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: ["example.com/team"], optionalServiceAccountAnnotationKeys: ["example.com/team"]}`)), kubelet: refuses},
	{name: "annotation-key-twice", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token, requireServiceAccount: true, optionalServiceAccountAnnotationKeys: ["a", "a"]}`)), kubelet: refuses},
	{name: "cache-type-missing", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, requireServiceAccount: true}`)), kubelet: refuses},
	{name: "cache-type-bogus", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Pod, requireServiceAccount: true}`)), kubelet: refuses},
	{name: "audience-missing", files: one(header + prov("ncp", `tokenAttributes: {cacheType: Token, requireServiceAccount: true}`)), kubelet: refuses},
	{name: "require-missing", files: one(header + prov("ncp", `tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: Token}`)), kubelet: refuses},
	{name: "token-attributes-plugin-v1beta1", files: one(header + withField("ncp", "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1") + "  " + tokenOK + "\n"), kubelet: refuses},
	{name: "token-attributes-config-v1beta1", files: one(strings.Replace(header, "/v1\n", "/v1beta1\n", 1) + prov("ncp", tokenOK)), kubelet: refuses},
	{name: "name-slash", files: one(header + prov("a/ncp")), kubelet: refuses},
	{name: "name-space", files: one(header + prov(`"n cp"`)), kubelet: refuses},
	{name: "name-dot", files: one(header + prov(`"."`)), kubelet: refuses},
	{name: "name-dotdot", files: one(header + prov(`".."`)), kubelet: refuses},
	{name: "name-empty", files: one(header + prov(`""`)), kubelet: refuses},
	{name: "binary-missing", files: one(header + prov("not-installed")), kubelet: refuses},
	{name: "name-twice-in-file", files: one(header + prov("ncp") + prov("ncp")), kubelet: refuses},
	{name: "name-twice-across-files", files: map[string]string{"d/a.yaml": header + prov("ncp"), "d/b.json": `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"ncp","matchImages":["r.io"],"defaultCacheDuration":"1m","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}]}`}, path: "d", kubelet: refuses},
	{name: "plugin-api-version-missing", files: one(header + withField("ncp", "  apiVersion: credentialprovider.kubelet.k8s.io/v1\n", "")), kubelet: refuses},
	{name: "plugin-api-version-bogus", files: one(header + withField("ncp", "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v2")), kubelet: refuses},
	{name: "match-images-empty", files: one(header + withField("ncp", `["quay.io"]`, `[]`)), kubelet: refuses},
	{name: "match-images-unparsable", files: one(header + withField("ncp", `["quay.io"]`, `["[::1"]`)), kubelet: refuses},
	{name: "cache-duration-missing", files: one(header + withField("ncp", "  defaultCacheDuration: 1m\n", "")), kubelet: refuses},
	{name: "cache-duration-negative", files: one(header + withField("ncp", "1m", "-1m")), kubelet: refuses},
	{name: "cache-duration-unparsable", files: one(header + withField("ncp", "1m", "soon")), kubelet: refuses},
	{name: "unknown-field", files: one(header + prov("ncp", "bogus: 1")), kubelet: refuses},
	{name: "field-wrong-case", files: one(header + withField("ncp", "matchImages", "MatchImages")), kubelet: refuses},
	{name: "field-twice", files: one(header + prov("ncp", "defaultCacheDuration: 2m")), kubelet: refuses},
	{name: "kind-wrong", files: one(strings.Replace(header, "CredentialProviderConfig", "KubeletConfiguration", 1) + prov("ncp")), kubelet: refuses},
	{name: "group-wrong", files: one(strings.Replace(header, "kubelet.config.k8s.io/v1", "kubeadm.k8s.io/v1beta4", 1) + prov("ncp")), kubelet: refuses},
	{name: "version-wrong", files: one(strings.Replace(header, "kubelet.config.k8s.io/v1", "kubelet.config.k8s.io/v2", 1) + prov("ncp")), kubelet: refuses},
	{name: "api-version-missing", files: one(header[strings.Index(header, "kind:"):] + prov("ncp")), kubelet: refuses},
	{name: "empty-file", files: one(""), kubelet: refuses},
	{name: "yaml-broken", files: one(header + "- name: [ncp\n"), kubelet: refuses},
	{name: "missing-path", files: map[string]string{}, path: "nowhere.yaml", kubelet: refuses},
	{name: "dir-empty", files: map[string]string{"d": subdir}, path: "d", kubelet: refuses},
	{name: "dir-no-config-files", files: map[string]string{"d/README.md": "x", "d/a.yaml.bak": header + prov("ncp"), "d/sub.yaml": subdir}, path: "d", kubelet: refuses},
	{name: "dir-one-broken-file", files: map[string]string{"d/a.yaml": header + prov("ncp"), "d/b.yaml": "kind: [\n"}, path: "d", kubelet: refuses},
	{name: "dir-dangling-symlink", files: map[string]string{"d/a.yaml": header + prov("ncp"), "d/b.yaml": linkTo + "gone.yaml"}, path: "d", kubelet: refuses},
	{name: "dir-symlink-to-dir", files: map[string]string{"d/a.yaml": header + prov("ncp"), "other": subdir, "d/b.yaml": linkTo + "../other"}, path: "d", kubelet: refuses},
	{name: "dir-fifo", files: map[string]string{"d/a.yaml": header + prov("ncp"), "d/b.yaml": fifo}, path: "d", kubelet: hangs},
	{name: "fifo", files: map[string]string{"config.yaml": fifo}, kubelet: hangs},

	// Accepted by the kubelet, refused by validate on purpose.
	{name: "match-images-glob-in-path", files: one(header + withField("ncp", `["quay.io"]`, `["quay.io/team-*"]`)), kubelet: accepts,
		deviation: "the kubelet compares paths as plain prefixes: the pattern matches no image"},
	{name: "match-images-glob-in-port", files: one(header + withField("ncp", `["quay.io"]`, `["localhost:*"]`)), kubelet: refuses},
	{name: "match-images-empty-label", files: one(header + withField("ncp", `["quay.io"]`, `["quay..io"]`)), kubelet: accepts,
		deviation: "a host has no empty label: the pattern matches no image"},
	{name: "match-images-scheme", files: one(header + withField("ncp", `["quay.io"]`, `["https://quay.io"]`)), kubelet: accepts,
		deviation: "the kubelet reads https: as the host: the pattern matches no image"},
}

func TestKubeletConfigParity(t *testing.T) {
	root := t.TempDir()
	binDir := filepath.Join(root, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{binName, binName + "2", binName + "3"} {
		if err := os.WriteFile(filepath.Join(binDir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	count := map[verdict]int{}
	for i, tc := range configCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, fmt.Sprint(i))
			makeFiles(t, dir, tc.files)
			p := tc.path
			if p == "" {
				p = "config.yaml"
			}
			path := filepath.Join(dir, p)
			kubelet, why := kubeletVerdict(t, path, binDir)
			count[kubelet]++
			if kubelet != tc.kubelet {
				t.Errorf("the kubelet %s (%s); the table says it %s", kubelet, why, tc.kubelet)
			}
			_, errs := config.CheckKubelet(path, binDir, "")
			weRefuse := len(errs) > 0
			switch {
			case tc.deviation != "":
				if kubelet != accepts || !weRefuse {
					t.Errorf("declared deviation (%s): the kubelet %s, validate refuses: %v", tc.deviation, kubelet, weRefuse)
				}
			case kubelet == accepts && weRefuse:
				t.Errorf("the kubelet accepts it, validate refuses: %v", errs)
			case kubelet != accepts && !weRefuse:
				t.Errorf("the kubelet %s (%s), validate finds no problem", kubelet, why)
			default:
				t.Logf("kubelet %s (%s); validate: %v", kubelet, why, errs)
			}
		})
	}
	t.Logf("%d configurations: the kubelet accepts %d, refuses %d, hangs on %d", len(configCases), count[accepts], count[refuses], count[hangs])
}

func makeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case content == fifo:
			err = syscall.Mkfifo(p, 0o600)
		case content == subdir:
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(content, linkTo):
			err = os.Symlink(strings.TrimPrefix(content, linkTo), p)
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
