package main

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

// explain tells what plugin mode does. For every outcome of
// provider.Decide, and for the failures before there is an answer, the
// same request is run through plugin mode (in process and as the binary,
// by runBinary) and through explain (-o json and text, for the pod named
// by --namespace/--service-account and by --request): explain's exit code
// and exitCode are plugin mode's, its error is plugin mode's one stderr
// line, and its warnings and notes are what plugin mode logs.
func TestExplainAgreesWithPluginMode(t *testing.T) {
	dir := t.TempDir()
	teamA := jwt(`{"aud":["ncp"],"kubernetes.io":{"namespace":"team-a","serviceaccount":{"name":"puller"}}}`)
	teamB := jwt(`{"aud":["ncp"],"kubernetes.io":{"namespace":"team-b","serviceaccount":{"name":"x"}}}`)
	user := writeFile(t, dir, "username", "team-a-bot", 0o600)
	pass := writeFile(t, dir, "password", "pa", 0o600)
	echoPass := writeFile(t, dir, "echo-password", teamA, 0o600)
	broken := writeFile(t, dir, "broken.json", `{"auths":`, 0o600)
	shared := writeFile(t, dir, "shared.json", `{"auths":{"c.io":{"username":"c","password":"pc"},"s.io":{"username":"s","password":"ps"}}}`, 0o600)
	cfg := writeFile(t, dir, "ncp.yaml", `apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {disabled: true}
scoping: {audience: ncp, withoutToken: Deny}
sources:
  - name: team-a
    static: {usernameFile: `+user+`, passwordFile: `+pass+`}
    matchImages: ["r.io"]
    allow: {namespaces: [team-a]}
  - name: broken
    dockerConfig: {paths: [`+broken+`]}
    matchImages: ["b.io", "c.io"]
  - name: echo
    static: {usernameFile: `+user+`, passwordFile: `+echoPass+`}
    matchImages: ["e.io"]
  - name: shared
    dockerConfig: {paths: [`+shared+`]}
`, 0o600)
	badCfg := writeFile(t, dir, "bad.yaml", "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\nsources: [{bogus: 1}]\n", 0o600)

	type pod struct{ namespace, serviceAccount, token string }
	a, b, none := pod{"team-a", "puller", teamA}, pod{"team-b", "x", teamB}, pod{}
	for _, tc := range []struct {
		name  string
		image string
		pod   pod
		// raw replaces the request plugin mode reads.
		raw    string
		config string // default cfg
		// requestOnly: only the request itself can say it (its token, its
		// shape), so explain is asked with --request alone.
		requestOnly bool
		code        int
		want        string // in the error line, or in a warning or note
		keys        []string
	}{
		{name: "answered", image: "r.io/app", pod: a, keys: []string{"r.io"}},
		{name: "withheld from this pod", image: "r.io/app", pod: b, code: 1, want: `no credentials for r.io/app for this pod: team-a (static ` + pass + `): service account team-b/x: namespace "team-b" is not in allow.namespaces [team-a]`},
		{name: "withheld from a request without a token", image: "s.io/app", pod: none, code: 1, want: "no service-account token and scoping.withoutToken is Deny"},
		{name: "a source failed, none answered", image: "b.io/app", pod: a, code: 1, want: "no credentials for b.io/app, and " + broken + ": not valid JSON"},
		{name: "a source failed, a later one answered", image: "c.io/app", pod: a, want: broken + ": not valid JSON", keys: []string{"c.io"}},
		{name: "a source denied, a later one answered", image: "s.io/app", pod: b, want: `team-a (static ` + pass + `): not allowed: service account team-b/x: namespace "team-b" is not in allow.namespaces [team-a]`, keys: []string{"s.io"}},
		{name: "a source denied, none holds a credential", image: "x.io/app", pod: b, want: "team-a (static " + pass + "): not allowed: "},
		{name: "no source holds a credential", image: "x.io/app", pod: a},
		{name: "the pod's own token as the password", image: "e.io/app", pod: a, code: 1, want: `refusing to answer e.io/app: the credential for "e.io" is the pod's own service-account token`, requestOnly: true},
		{name: "an invalid image", image: "Bad/Image Name", pod: a, code: 1, want: `the request's image "Bad/Image Name" is not a valid image reference`},
		{name: "a broken config", image: "r.io/app", pod: a, config: badCfg, code: 1, want: `unknown field "sources[0].bogus"`},
		{name: "a token that is no JWT", pod: a, raw: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/app","serviceAccountToken":"not-a-jwt"}`, code: 1, want: "the service-account token is not a JWT", requestOnly: true},
		{name: "a malformed request", raw: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}`, code: 1, want: "the request has no image", requestOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := cfg
			if tc.config != "" {
				config = tc.config
			}
			stdin := tc.raw
			if stdin == "" {
				body := map[string]any{"kind": "CredentialProviderRequest", "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "image": tc.image}
				if tc.pod.token != "" {
					body["serviceAccountToken"] = tc.pod.token
				}
				raw, _ := json.Marshal(body)
				stdin = string(raw)
			}
			plugin := runBinary(t, stdin, "--config", config)
			if plugin.code != tc.code {
				t.Fatalf("plugin mode: exit %d, want %d: %+v", plugin.code, tc.code, plugin)
			}
			logged := klogMessages(plugin.stderr)
			if tc.code == 0 {
				var resp struct{ Auth map[string]json.RawMessage }
				if err := json.Unmarshal([]byte(plugin.stdout), &resp); err != nil {
					t.Fatalf("plugin mode's response: %v: %q", err, plugin.stdout)
				}
				var keys []string
				for k := range resp.Auth {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if !slices.Equal(keys, tc.keys) {
					t.Errorf("plugin mode answers %v, want %v", keys, tc.keys)
				}
				if tc.want != "" && !strings.Contains(strings.Join(logged, "\n"), tc.want) {
					t.Errorf("plugin mode logs %q, want %q in it", logged, tc.want)
				}
			} else if plugin.stdout != "" || len(logged) != 0 || strings.Count(plugin.stderr, "\n") != 1 || !strings.Contains(plugin.stderr, tc.want) {
				t.Errorf("plugin mode: want one line with %q and nothing on stdout: %+v", tc.want, plugin)
			}

			reqFile := writeFile(t, t.TempDir(), "request.json", stdin, 0o600)
			explains := map[string][]string{"--request": {"explain", "--request", reqFile}}
			if !tc.requestOnly {
				flags := []string{"explain", tc.image}
				if tc.pod.namespace != "" {
					flags = append(flags, "--namespace", tc.pod.namespace, "--service-account", tc.pod.serviceAccount)
				}
				explains["--namespace"] = flags
			}
			for how, args := range explains {
				args = append(args, "--config", config)
				r := runBinary(t, "", append(args, "-o", "json")...)
				var ex explanation
				if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
					t.Fatalf("explain %s -o json: %v\n%+v", how, err, r)
				}
				if r.code != plugin.code || ex.ExitCode != plugin.code || r.stderr != "" {
					t.Errorf("explain %s: exit %d, exitCode %d; plugin mode exits %d\n%+v", how, r.code, ex.ExitCode, plugin.code, r)
				}
				var errLine string
				if ex.Error != "" {
					errLine = name + ": " + ex.Error + "\n"
				}
				if tc.code != 0 && errLine != plugin.stderr {
					t.Errorf("explain %s: the kubelet logs %q, says explain; plugin mode prints %q", how, errLine, plugin.stderr)
				}
				if tc.code == 0 {
					if errLine != "" || ex.Answer == nil {
						t.Errorf("explain %s: error %q, answer %+v", how, ex.Error, ex.Answer)
					} else {
						var keys []string
						for _, c := range ex.Answer.Auth {
							keys = append(keys, c.Key)
						}
						sort.Strings(keys)
						if !slices.Equal(keys, tc.keys) {
							t.Errorf("explain %s: answers %v, plugin mode %v", how, keys, tc.keys)
						}
					}
					if logs := append(append([]string{}, ex.Warnings...), ex.Notes...); !slices.Equal(logs, logged) {
						t.Errorf("explain %s: plugin mode logs %q, says explain; it logs %q", how, logs, logged)
					}
				} else if ex.Answer != nil {
					t.Errorf("explain %s: an answer from a failing plugin: %+v", how, ex.Answer)
				}

				text := runBinary(t, "", args...)
				verdict := "verdict         exit 0, a response on stdout\n"
				if tc.code != 0 {
					verdict = "verdict         exit 1, nothing on stdout; the kubelet logs: " + plugin.stderr
				}
				if text.code != plugin.code || !strings.Contains(text.stdout, verdict) {
					t.Errorf("explain %s: exit %d, want %d and %q in\n%s", how, text.code, plugin.code, verdict, text.stdout)
				}
			}
		})
	}
}

// --request - reads the request from stdin, as plugin mode does; --request
// excludes what it says itself.
func TestExplainRequestFromStdin(t *testing.T) {
	cfg := writeConfig(t, `{"auths":{"r.io":{"username":"u","password":"p"}}}`)
	r := runBinary(t, request("r.io/app"), "explain", "--request", "-", "--docker-config", cfg, "-o", "json")
	var ex explanation
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil || r.code != 0 || ex.ExitCode != 0 || ex.Answer == nil || len(ex.Answer.Auth) != 1 || ex.Identity != "a request without a service-account token" {
		t.Errorf("%+v %v", r, err)
	}
	for _, args := range [][]string{{"r.io/app"}, {"--namespace", "a", "--service-account", "b"}, {"--annotation", "k=v"}} {
		r := runBinary(t, "", append([]string{"explain", "--request", "-", "--docker-config", cfg}, args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--request names the image and the pod") {
			t.Errorf("%q: %+v", args, r)
		}
	}
	if r := runBinary(t, "", "explain", "--request", "/nonexistent/request.json", "--docker-config", cfg); r.code != 1 || !strings.Contains(r.stderr, "explain: --request: open /nonexistent/request.json") {
		t.Errorf("missing file: %+v", r)
	}
}
