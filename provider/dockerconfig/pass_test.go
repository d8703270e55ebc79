package dockerconfig

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
)

// TestRealPassHelper stores credentials with Debian's docker-credential-pass
// in a throwaway gpg home and password store, and resolves them through a
// docker config that holds nothing but "credsStore": "pass", as a node that
// ran `docker login` with pass configured would have. scripts/
// install-test-deps.sh installs what it needs.
func TestRealPassHelper(t *testing.T) {
	for _, bin := range []string{"docker-credential-pass", "pass", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed (make unit, or scripts/install-test-deps.sh, installs it): %v", bin, err)
		}
	}
	// gpg-agent's socket path must stay under ~100 characters: keep the
	// home short rather than under t.TempDir's long test-named path.
	home, err := os.MkdirTemp("/tmp", "ncp-pass")
	if err != nil {
		t.Fatal(err)
	}
	gnupg := filepath.Join(home, "g")
	store := filepath.Join(home, "s")
	if err := os.Mkdir(gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GNUPGHOME": gnupg, "PASSWORD_STORE_DIR": store, "HOME": home}
	run := func(stdin string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+gnupg)
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	const id = "ncp-test@example.invalid"
	run("", "gpg", "--batch", "--passphrase", "", "--quick-gen-key", id, "default", "default", "never")
	run("", "pass", "init", id)
	for _, c := range []struct{ url, user, secret string }{
		{"registry.example.com", "ci-bot", "registry-pw-1"},
		{"https://index.docker.io/v1/", "hubuser", "hub-pw-2"},
		{"quay.io/team-a", "team-a+bot", "quay-pw-3"},
		{"token.example.com", "<token>", "refresh-token-4"},
	} {
		run(`{"ServerURL":"`+c.url+`","Username":"`+c.user+`","Secret":"`+c.secret+`"}`, "docker-credential-pass", "store")
	}

	cfg := writeFile(t, t.TempDir(), "config.json", `{"credsStore":"pass"}`)
	pass := &credhelper.Helper{Name: "pass", Timeout: 30 * time.Second, Env: env}
	src := &Source{Path: cfg, Helpers: func(name string) *credhelper.Helper {
		if name != "pass" {
			t.Errorf("asked for helper %q", name)
		}
		return pass
	}}
	st := &provider.Store{Sources: []provider.Source{src}, CacheDuration: time.Minute}
	for _, tc := range []struct {
		image        string
		want         []provider.Credential
		cacheKeyType string
	}{
		{"registry.example.com/team/app", []provider.Credential{cred("registry.example.com", "ci-bot", "registry-pw-1")}, provider.CacheKeyRegistry},
		{"docker.io/library/nginx", []provider.Credential{cred("docker.io", "hubuser", "hub-pw-2")}, provider.CacheKeyRegistry},
		{"quay.io/team-a/app", []provider.Credential{cred("quay.io/team-a", "team-a+bot", "quay-pw-3")}, provider.CacheKeyImage},
		{"quay.io/team-b/app", nil, provider.CacheKeyImage},
		{"token.example.com/app", nil, provider.CacheKeyImage},
		{"other.example.com/app", nil, provider.CacheKeyImage},
	} {
		a := st.Resolve(context.Background(), tc.image)
		if errs := a.Errors(); len(errs) > 0 {
			t.Errorf("%s: errors %v", tc.image, errs)
		}
		if !reflect.DeepEqual(a.Credentials, tc.want) {
			t.Errorf("%s: credentials %+v; want %+v", tc.image, a.Credentials, tc.want)
		}
		if a.CacheKeyType != tc.cacheKeyType {
			t.Errorf("%s: cacheKeyType %s; want %s", tc.image, a.CacheKeyType, tc.cacheKeyType)
		}
	}
	keys, err := src.Keys()
	if err != nil || !reflect.DeepEqual(keys, []string{"docker.io", "quay.io/team-a", "registry.example.com", "token.example.com"}) {
		t.Errorf("Keys = %q, %v", keys, err)
	}
}
