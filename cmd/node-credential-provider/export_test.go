package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/internal/kubectltest"
)

const (
	exportPW   = "pw-Ex9-never-on-stderr"
	exportUser = "user-Ex9"
)

func exportConfig(t *testing.T) string {
	return writeConfig(t, `{"auths":{
		"https://index.docker.io/v1/": {"auth":"`+b64(exportUser+":"+exportPW)+`"},
		"localhost:5443":              {"username":"`+exportUser+`","password":"`+exportPW+`"},
		"quay.io/team-a":              {"username":"`+exportUser+`","password":"`+exportPW+`"},
		"store.io":                    {}
	},"credsStore":"desktop"}`)
}

// decodeSecrets decodes our stdout strictly with the k8s.io/api types.
func decodeSecrets(t *testing.T, out string, asJSON bool) []corev1.Secret {
	t.Helper()
	var secrets []corev1.Secret
	if asJSON {
		var list corev1.List
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, item := range list.Items {
			var s corev1.Secret
			if err := json.Unmarshal(item.Raw, &s); err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, s)
		}
		return secrets
	}
	for _, doc := range strings.Split(out, "\n---\n") {
		var s corev1.Secret
		if err := yaml.UnmarshalStrict([]byte(doc), &s); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		secrets = append(secrets, s)
	}
	return secrets
}

func servers(t *testing.T, s corev1.Secret) []string {
	t.Helper()
	var cfg struct{ Auths map[string]json.RawMessage }
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range cfg.Auths {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestExport(t *testing.T) {
	cfg := exportConfig(t)
	for _, tc := range []struct {
		name       string
		args       []string
		namespaces []string
		servers    []string
	}{
		{"registries, yaml, two namespaces", []string{"--registry", "localhost:5443", "--registry", "https://index.docker.io/v1/", "-n", "a", "-n", "b"},
			[]string{"a", "b"}, []string{"https://index.docker.io/v1/", "localhost:5443"}},
		{"images, json", []string{"--image", "nginx:1.27", "--image", "quay.io/team-a/app", "-n", "a", "-o", "json"},
			[]string{"a"}, []string{"index.docker.io", "quay.io/team-a"}},
		{"all", []string{"--all", "--namespace=a"},
			[]string{"a"}, []string{"index.docker.io", "localhost:5443", "quay.io/team-a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"export-secret", "--name", "regcred", "--docker-config", cfg, "-v=10"}, tc.args...)
			r := runBinary(t, "", args...)
			if r.code != 0 || r.stderr != "" && !strings.Contains(r.stderr, "] ") {
				t.Fatalf("%+v", r)
			}
			secrets := decodeSecrets(t, r.stdout, strings.Contains(strings.Join(tc.args, " "), "json"))
			if len(secrets) != len(tc.namespaces) {
				t.Fatalf("%d Secrets", len(secrets))
			}
			for i, s := range secrets {
				if s.Name != "regcred" || s.Namespace != tc.namespaces[i] || s.Type != corev1.SecretTypeDockerConfigJson {
					t.Errorf("Secret %d: %s/%s %s", i, s.Namespace, s.Name, s.Type)
				}
				if got := servers(t, s); strings.Join(got, ",") != strings.Join(tc.servers, ",") {
					t.Errorf("servers %q, want %q", got, tc.servers)
				}
			}
			if strings.Contains(r.stderr, exportPW) || strings.Contains(r.stderr, exportUser) {
				t.Errorf("stderr holds a secret: %s", r.stderr)
			}
		})
	}
}

// The one-off Secret of --username/--password-stdin is kubectl's, byte for
// byte in -o yaml, and the password comes only from stdin.
func TestExportUsernamePasswordStdin(t *testing.T) {
	r := runBinary(t, exportPW+"\r\n", "export-secret", "--name", "regcred", "-n", "team-a", "--username", "janedoe", "--password-stdin", "--email", "jdoe@example.com", "-o", "json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("%+v", r)
	}
	got := decodeSecrets(t, r.stdout, true)[0]
	kubectl := []string{"create", "secret", "docker-registry", "regcred", "-n", "team-a",
		"--docker-username=janedoe", "--docker-password=" + exportPW, "--docker-email=jdoe@example.com", "--dry-run=client"}
	golden := filepath.Join("testdata", "kubectl", "username-password-stdin")
	out := kubectltest.Output(t, golden+".json", append(kubectl, "-o", "json")...)
	var want corev1.Secret
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data[".dockerconfigjson"], want.Data[".dockerconfigjson"]) {
		t.Errorf("got %s\nkubectl %s", got.Data[".dockerconfigjson"], want.Data[".dockerconfigjson"])
	}
	r = runBinary(t, exportPW+"\n", "export-secret", "--name", "regcred", "-n", "team-a", "--username", "janedoe", "--password-stdin", "--email", "jdoe@example.com")
	if wantYAML := kubectltest.Output(t, golden+".yaml", append(kubectl, "-o", "yaml")...); r.code != 0 || r.stdout != string(wantYAML) {
		t.Errorf("-o yaml: %+v\nkubectl writes\n%s", r, wantYAML)
	}
}

func TestExportErrors(t *testing.T) {
	cfg := exportConfig(t)
	base := []string{"export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg, "-v=10"}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"missing registry", "", []string{"--registry", "localhost:5443", "--registry", "nowhere.io", "--registry", "store.io"}, 1,
			"nowhere.io: no source has a credential for it"},
		{"missing image", "", []string{"--image", "nowhere.io/app"}, 1, "nowhere.io/app: no source has a credential for nowhere.io/app"},
		{"path-scoped only", "", []string{"--registry", "quay.io"}, 1, "holds credentials only for repository paths under it"},
		{"nothing asked", "", nil, 2, "name what to export"},
		{"no name", "", []string{"--name=", "--all"}, 2, "--name is required"},
		{"bad name", "", []string{"--name=Reg_Cred", "--all"}, 1, `nothing written: secret name "Reg_Cred"`},
		{"bad label", "", []string{"--all", "--label", "novalue"}, 2, `--label "novalue": want KEY=VALUE`},
		{"bad output", "", []string{"--all", "-o", "table"}, 2, `--output must be yaml or json`},
		{"password on the command line", "", []string{"--username", "u", "--password", exportPW}, 2, "passwords are never taken on the command line"},
		{"username without stdin", "", []string{"--username", "u"}, 2, "--username and --password-stdin go together"},
		{"username with all", exportPW, []string{"--username", "u", "--password-stdin", "--all"}, 2, "--username writes one registry"},
		{"empty password", "\n", []string{"--username", "u", "--password-stdin"}, 1, "stdin is empty"},
		{"glob registry", "", []string{"--registry", "*.example.com"}, 2, "globs are not supported here"},
		{"unreadable source", "", []string{"--docker-config", "/nonexistent/config.json", "--registry", "r.io"}, 1, "/nonexistent/config.json: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, base...), tc.args...)
			if tc.name == "no name" {
				args = append([]string{"export-secret", "-n", "a", "--docker-config", cfg}, tc.args...)
			}
			r := runBinary(t, tc.stdin, args...)
			if r.code != tc.code || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("code %d stdout %q stderr %q; want code %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
			for _, s := range []string{exportPW, exportUser, "Ex9"} {
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr holds a secret: %s", r.stderr)
				}
			}
		})
	}
}

func TestExportAllowMissing(t *testing.T) {
	cfg := exportConfig(t)
	r := runBinary(t, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg,
		"--registry", "localhost:5443", "--registry", "nowhere.io", "--allow-missing")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: nowhere.io left out") {
		t.Fatalf("%+v", r)
	}
	if got := servers(t, decodeSecrets(t, r.stdout, false)[0]); strings.Join(got, ",") != "localhost:5443" {
		t.Errorf("servers %q", got)
	}
	// Nothing at all is still an error: an empty Secret applies and fails
	// every pull.
	r = runBinary(t, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg, "--registry", "nowhere.io", "--allow-missing")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "no credentials to write") {
		t.Errorf("%+v", r)
	}
}

func TestExportOutputFile(t *testing.T) {
	cfg := exportConfig(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "regcred.yaml")
	// An existing, world-readable file is replaced, not written into.
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(out)
	// Once: a second run would free the old inode for the next rename.
	r := runBinaryOnce(t, []string{"HOME=" + t.TempDir()}, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg, "--all", "--output-file", out)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("%+v", r)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if os.SameFile(fi, old) {
		t.Errorf("the file was written in place, not replaced by a rename")
	}
	data, _ := os.ReadFile(out)
	if len(decodeSecrets(t, string(data), false)) != 1 {
		t.Errorf("file content:\n%s", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	// On an error nothing is written, and the old file stays.
	r = runBinary(t, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg, "--registry", "nowhere.io", "--output-file", out)
	if r.code != 1 {
		t.Fatalf("%+v", r)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, data) {
		t.Errorf("file changed on error")
	}
	fresh := filepath.Join(dir, "fresh.yaml")
	r = runBinary(t, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg, "--registry", "nowhere.io", "--output-file", fresh)
	if _, err := os.Stat(fresh); r.code != 1 || err == nil {
		t.Errorf("file created on error: %+v", r)
	}
	r = runBinary(t, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", cfg, "--all", "--output-file", filepath.Join(dir, "no-such-dir", "x.yaml"))
	if r.code != 1 || !strings.Contains(r.stderr, "writing "+filepath.Join(dir, "no-such-dir", "x.yaml")) {
		t.Errorf("%+v", r)
	}
}

// export-secret's output is what inspect reads, and inspect redacts.
func TestExportThenInspect(t *testing.T) {
	cfg := exportConfig(t)
	r := runBinary(t, "", "export-secret", "--name", "regcred", "-n", "a", "-n", "b", "--docker-config", cfg, "--all")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	in := runBinary(t, r.stdout, "inspect", "-")
	if in.code != 0 || strings.Count(in.stdout, "Secret regcred") != 2 || strings.Contains(in.stdout, exportPW) || !strings.Contains(in.stdout, "username "+exportUser) {
		t.Errorf("%+v", in)
	}
	in = runBinary(t, r.stdout, "inspect", "--show-secrets", "-")
	if in.code != 0 || !strings.Contains(in.stdout, "password "+exportPW) {
		t.Errorf("%+v", in)
	}
	// The docker config itself has a credsStore placeholder; still usable.
	in = runBinary(t, "", "inspect", cfg)
	if in.code != 0 || !strings.Contains(in.stdout, `store.io`) {
		t.Errorf("%+v", in)
	}
}

func TestInspectFlagsUnusableSecret(t *testing.T) {
	copyOfStore := b64(`{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop"}`)
	manifest := "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: " + copyOfStore + "\n"
	r := runBinary(t, manifest, "inspect", "-")
	if r.code != 1 || !strings.Contains(r.stdout, `PROBLEM    no usable credentials: a copy of a config whose secrets docker keeps in credsStore "desktop"`) {
		t.Errorf("%+v", r)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect"}, 2, "want one FILE"},
		{[]string{"inspect", "/nonexistent"}, 1, "no such file"},
		{[]string{"inspect", "--bogus", "-"}, 2, "unknown flag"},
	} {
		r := runBinary(t, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %+v", tc.args, r)
		}
	}
	r = runBinary(t, "{\"auths\":{\"r.io\":{\"password\":\""+exportPW+"\"x}}}", "inspect", "-")
	if r.code != 1 || strings.Contains(r.stderr, exportPW) || !strings.Contains(r.stderr, "not valid JSON") {
		t.Errorf("%+v", r)
	}
}

func TestSubcommandHelp(t *testing.T) {
	for _, cmd := range []string{"export-secret", "inspect"} {
		r := runBinary(t, "", cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || strings.Contains(r.stdout, "--password ") || strings.Contains(r.stdout, "--cache-duration") {
			t.Errorf("%s --help: %+v", cmd, r)
		}
	}
	r := runBinary(t, "", "help")
	if !strings.Contains(r.stdout, "export-secret") || !strings.Contains(r.stdout, "inspect FILE") {
		t.Errorf("help: %s", r.stdout)
	}
}
