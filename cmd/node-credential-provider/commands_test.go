package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

const kubeletConfigFmt = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: node-credential-provider
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ["registry.example.com", "docker.io"]
    defaultCacheDuration: "1m"
    args: ["--docker-config=%s"]
`

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.json", `{"auths":{"registry.example.com":{"username":"bot","password":"`+secretPW+`"},"quay.io":{}},"credsStore":"desktop"}`, 0o600)
	kc := writeFile(t, dir, "kc.yaml", strings.Replace(kubeletConfigFmt, "%s", cfg, 1), 0o600)

	r := runBinary(t, "", "explain", "registry.example.com/team/app:v1", "--kubelet-config", kc)
	for _, want := range []string{
		"kubelet sends   registry.example.com/team/app",
		`* node-credential-provider     routed by "registry.example.com"`,
		"ANSWERS with registry.example.com",
		`registry.example.com           username "bot", password <22 characters, not shown>`,
		"cacheKeyType Registry, cacheDuration 1m0s",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, secretPW) {
		t.Errorf("code %d or a secret in the output:\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = runBinary(t, "", "explain", "quay.io/team/app", "--kubelet-config", kc, "-o", "json")
	var ex explanation
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if ex.Kubelet.Routed || len(ex.Problems) != 2 || !strings.Contains(ex.Problems[0], `add "quay.io"`) ||
		!strings.Contains(strings.Join(ex.Sources[0].Notes, " "), `credsStore "desktop"`) {
		t.Errorf("%+v", ex)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.json", `{"auths":{"r.io":{"username":"u","password":"p"}},"credsStore":"no-such-helper"}`, 0o644)
	kc := writeFile(t, dir, "kc.yaml", strings.Replace(kubeletConfigFmt, "%s", cfg, 1)+`  - name: other
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ["r.io:50*"]
`, 0o600)
	r := runBinary(t, "", "validate", "--kubelet-config", kc, "--bin-dir", dir, "--provider-name", "node-credential-provider")
	for _, want := range []string{
		`provider "other": matchImages[0]: "r.io:50*": no glob in the port`,
		`provider "other": defaultCacheDuration: required`,
		"node-credential-provider: no such file or directory (the kubelet refuses to start without it)",
		// The kubelet needs every provider's binary, not only ours.
		`provider "other": ` + filepath.Join(dir, "other") + `: no such file or directory (the kubelet refuses to start without it)`,
		"mode 0644 lets group or others read it; chmod 600",
		`helper "no-such-helper" (named by ` + cfg + ` credsStore): docker-credential-no-such-helper is not on PATH`,
		`note     provider "node-credential-provider": env does not set GOMAXPROCS=1, which install writes`,
		"6 problem(s)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("code %d", r.code)
	}
	// A clean setup passes.
	if err := os.Chmod(cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, dir, "good.json", `{"auths":{"r.io":{"username":"u","password":"p"}}}`, 0o600)
	kc2 := writeFile(t, dir, "kc2.yaml", strings.Replace(kubeletConfigFmt, "%s", good, 1), 0o600)
	if err := os.Link(binary, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, "", "validate", "--kubelet-config", kc2, "--bin-dir", dir, "--provider-name", name)
	if r.code != 0 || !strings.HasSuffix(r.stdout, "no problems\n") {
		t.Errorf("clean validate: %+v", r)
	}
	// The provider entry as install writes it has nothing to note.
	kc3 := writeFile(t, dir, "kc3.yaml", strings.Replace(kubeletConfigFmt, "%s", good, 1)+"    env: [{name: GOMAXPROCS, value: \"1\"}]\n", 0o600)
	r = runBinary(t, "", "validate", "--kubelet-config", kc3, "--bin-dir", dir, "--provider-name", name)
	if r.code != 0 || strings.Contains(r.stdout, "note ") {
		t.Errorf("validate with the provider's env: %+v", r)
	}
}

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".sig"
}

// Scoping end to end through the binary: a pod whose service account is
// allowed gets the credential, one that is not gets none, tokenless requests
// follow scoping.withoutToken, and the token is never echoed.
func TestServiceAccountScoping(t *testing.T) {
	dir := t.TempDir()
	teamA := writeFile(t, dir, "team-a.json", `{"auths":{"r.io":{"username":"team-a","password":"pa"}}}`, 0o600)
	shared := writeFile(t, dir, "shared.json", `{"auths":{"s.io":{"username":"shared","password":"ps"}}}`, 0o600)
	cfg := writeFile(t, dir, "ncp.yaml", `apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
scoping: {audience: ncp, withoutToken: Deny}
sources:
  - name: team-a
    dockerConfig: {paths: [`+teamA+`]}
    allow: {namespaces: [team-a], annotations: {ncp.io/access: pull}}
  - name: shared
    dockerConfig: {paths: [`+shared+`]}
`, 0o600)
	req := func(image, token string, ann map[string]string) string {
		b, _ := json.Marshal(map[string]any{"kind": "CredentialProviderRequest", "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
			"image": image, "serviceAccountToken": token, "serviceAccountAnnotations": ann})
		return string(b)
	}
	teamAToken := jwt(`{"aud":["ncp"],"kubernetes.io":{"namespace":"team-a","serviceaccount":{"name":"default"}}}`)
	teamBToken := jwt(`{"aud":["ncp"],"kubernetes.io":{"namespace":"team-b","serviceaccount":{"name":"default"}}}`)
	wrongAud := jwt(`{"aud":["other"],"kubernetes.io":{"namespace":"team-a","serviceaccount":{"name":"default"}}}`)
	pull := map[string]string{"ncp.io/access": "pull"}
	// A pod kept from a credential that exists gets none, and the plugin
	// fails with the reason, so that the kubelet's log says why (a failure
	// is an empty answer to the kubelet: nothing cached, anonymous pull).
	for _, tc := range []struct {
		name, stdin, want, why string
	}{
		{"allowed", req("r.io/app", teamAToken, pull), `"auth":{"r.io":{"username":"team-a","password":"pa"}}`, ""},
		{"other namespace", req("r.io/app", teamBToken, pull), "", `namespace "team-b" is not in allow.namespaces [team-a]`},
		{"annotation missing", req("r.io/app", teamAToken, nil), "", `carries no annotation "ncp.io/access"`},
		{"wrong audience", req("r.io/app", wrongAud, pull), "", `not minted for audience "ncp"`},
		{"unrestricted source with a token", req("s.io/app", teamBToken, nil), `"auth":{"s.io":{"username":"shared","password":"ps"}}`, ""},
		{"tokenless denied", req("s.io/app", "", nil), "", "no service-account token and scoping.withoutToken is Deny"},
		{"denied source without a credential for the image", req("other.io/app", teamBToken, pull), `"auth":{}`, ""},
	} {
		r := runBinary(t, tc.stdin, "--config", cfg)
		if tc.why == "" {
			if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
				t.Errorf("%s: %+v", tc.name, r)
			}
		} else if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.Contains(r.stderr, "no credentials for r.io/app for this pod") && !strings.Contains(r.stderr, "no credentials for s.io/app for this pod") ||
			!strings.Contains(r.stderr, tc.why) {
			t.Errorf("%s: want exit 1 and one line saying %q: %+v", tc.name, tc.why, r)
		}
		if r := runBinary(t, tc.stdin, "--config", cfg, "-v=10"); strings.Contains(r.stderr, ".sig") || strings.Contains(r.stderr, `"pa"`) {
			t.Errorf("%s: token or password on stderr: %s", tc.name, r.stderr)
		}
	}
	r := runBinary(t, req("r.io/app", "not-a-jwt", nil), "--config", cfg)
	if r.code != 1 || strings.Contains(r.stderr, "not-a-jwt") {
		t.Errorf("bad token: %+v", r)
	}
	// The token is never answered as a password.
	echo := writeFile(t, dir, "echo.json", `{"auths":{"e.io":{"username":"u","password":"`+teamAToken+`"}}}`, 0o600)
	r = runBinary(t, req("e.io/app", teamAToken, nil), "--docker-config", echo)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "is the pod's own service-account token") {
		t.Errorf("echoed token: %+v", r)
	}
}

func TestConfigFlagErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\nsources: [{dockerConfig: {}, bogus: 1}]\n", 0o600)
	r := runBinary(t, request("r.io/a"), "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown field "sources[0].bogus"`) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, request("r.io/a"), "--config", bad, "--docker-config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "--docker-config and --config exclude each other") {
		t.Errorf("%+v", r)
	}
}

// Every source kind, configured in one file, answers through the binary.
func TestAllSourceKindsFromConfig(t *testing.T) {
	dir := t.TempDir()
	auth := writeFile(t, dir, "auth.json", `{"auths":{
		"quay.io/team-a":{"auth":"`+b64("team-a:pa")+`"},
		"quay.io/team-b/app":{"auth":"`+b64("team-b:pb")+`"},
		"quay.io":{"auth":"`+b64("quay:pq")+`"}}}`, 0o600)
	user := writeFile(t, dir, "username", "mirror-bot\n", 0o600)
	pass := writeFile(t, dir, "password", "mirror-pw-1\n", 0o600)
	cfg := writeFile(t, dir, "ncp.yaml", `apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {disabled: true}
sources:
  - name: podman
    podmanAuth: {path: `+auth+`}
  - name: mirror
    static: {usernameFile: `+user+`, passwordFile: `+pass+`}
    matchImages: ["mirror.example.com:5443"]
`, 0o600)
	for _, tc := range []struct{ image, want string }{
		{"quay.io/team-a/app", `"cacheKeyType":"Image","cacheDuration":"1m0s","auth":{"quay.io/team-a":{"username":"team-a","password":"pa"}}`},
		{"quay.io/team-b/app", `"auth":{"quay.io/team-b/app":{"username":"team-b","password":"pb"}}`},
		{"quay.io/team-c/app", `"auth":{"quay.io":{"username":"quay","password":"pq"}}`},
		{"mirror.example.com:5443/lib/app", `"cacheKeyType":"Registry","cacheDuration":"1m0s","auth":{"mirror.example.com:5443":{"username":"mirror-bot","password":"mirror-pw-1"}}`},
		{"mirror.example.com/lib/app", `"auth":{}`},
	} {
		r := runBinary(t, request(tc.image), "--config", cfg)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%s: %+v\nwant %s", tc.image, r, tc.want)
		}
	}
	// A rotated password file is served on the next request.
	if err := os.WriteFile(pass, []byte("mirror-pw-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runBinary(t, request("mirror.example.com:5443/lib/app"), "--config", cfg); !strings.Contains(r.stdout, `"password":"mirror-pw-2"`) {
		t.Errorf("after rotation: %+v", r)
	}
}

// validate catches scoping rules that the kubelet's provider config can
// never satisfy: no tokens at all, another audience, an annotation the
// kubelet does not pass.
func TestValidateScopingAgainstKubelet(t *testing.T) {
	dir := t.TempDir()
	dc := writeFile(t, dir, "config.json", `{"auths":{"r.io":{"username":"u","password":"p"}}}`, 0o600)
	ours := writeFile(t, dir, "ncp.yaml", `apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
scoping: {audience: ncp}
sources:
  - name: team-a
    dockerConfig: {paths: [`+dc+`]}
    allow: {namespaces: [team-a], annotations: {example.com/access: pull}}
`, 0o600)
	const head = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: node-credential-provider\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [r.io]\n  defaultCacheDuration: 1m\n  args: [--config="
	noTokens := writeFile(t, dir, "no-tokens.yaml", head+ours+"]\n", 0o600)
	r := runBinary(t, "", "validate", "--kubelet-config", noTokens, "--provider-name", name)
	if r.code != 1 || !strings.Contains(r.stdout, `team-a: has allow rules, but the kubelet provider "node-credential-provider" has no tokenAttributes`) {
		t.Errorf("no tokenAttributes: %+v", r)
	}
	mismatch := writeFile(t, dir, "mismatch.yaml", head+ours+"]\n  tokenAttributes: {serviceAccountTokenAudience: other, cacheType: ServiceAccount, requireServiceAccount: false, optionalServiceAccountAnnotationKeys: [example.com/other]}\n", 0o600)
	r = runBinary(t, "", "validate", "--kubelet-config", mismatch, "--provider-name", name)
	for _, want := range []string{
		`scoping.audience "ncp" differs from the kubelet provider's tokenAttributes.serviceAccountTokenAudience "other"`,
		`team-a: allow.annotations names "example.com/access", which the kubelet provider's tokenAttributes neither require nor allow`,
		"2 problem(s)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mismatch: output lacks %q:\n%s", want, r.stdout)
		}
	}
	good := writeFile(t, dir, "good.yaml", head+ours+"]\n  tokenAttributes: {serviceAccountTokenAudience: ncp, cacheType: ServiceAccount, requireServiceAccount: false, optionalServiceAccountAnnotationKeys: [example.com/access]}\n", 0o600)
	r = runBinary(t, "", "validate", "--kubelet-config", good, "--provider-name", name)
	if r.code != 0 {
		t.Errorf("matching setup: %+v", r)
	}
}
