package podman

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

func auth(user, pass string) string {
	return `{"auth":"` + dockerconfig.EncodeAuth(user, pass) + `"}`
}

func cred(key, user, pass string) []provider.Credential {
	return []provider.Credential{{Key: key, Username: user, Password: pass}}
}

var authJSON = `{"auths":{
	"quay.io/team-a":              ` + auth("a", "pa") + `,
	"quay.io/team-b/app":          ` + auth("b", "pb") + `,
	"quay.io":                     ` + auth("q", "pq") + `,
	"quay.io/team":                ` + auth("t", "pt") + `,
	"docker.io/library":           ` + auth("lib", "plib") + `,
	"https://index.docker.io/v1/": ` + auth("hub", "phub") + `,
	"registry.example.com/ns":     {},
	"registry.example.com":        ` + auth("r", "pr") + `,
	"https://legacy.io/v1/":       ` + auth("l", "pl") + `,
	"https://scoped.io/team":      ` + auth("s", "ps") + `,
	"localhost:5000":              ` + auth("lo", "plo") + `
}}`

func TestMostSpecificKey(t *testing.T) {
	f, err := dockerconfig.Parse([]byte(authJSON), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		image      string
		want       []provider.Credential
		pathScoped bool
	}{
		{"quay.io/team-a/app", cred("quay.io/team-a", "a", "pa"), true},
		{"quay.io/team-a/sub/app", cred("quay.io/team-a", "a", "pa"), true},
		{"quay.io/team-b/app", cred("quay.io/team-b/app", "b", "pb"), true},
		{"quay.io/team-b/other", cred("quay.io", "q", "pq"), true},
		{"quay.io/team-abc/app", cred("quay.io", "q", "pq"), true}, // not quay.io/team-a nor quay.io/team
		{"quay.io/team/app", cred("quay.io/team", "t", "pt"), true},
		{"docker.io/library/nginx", cred("docker.io/library", "lib", "plib"), true},
		{"docker.io/someone/app", cred("docker.io", "hub", "phub"), true},
		{"registry.example.com/ns/app", nil, true}, // most specific is empty: podman pulls anonymously
		{"registry.example.com/other", cred("registry.example.com", "r", "pr"), true},
		{"legacy.io/app", cred("legacy.io", "l", "pl"), false},
		{"scoped.io/team/app", cred("scoped.io", "s", "ps"), false}, // a legacy key names only its host
		{"localhost:5000/app", cred("localhost:5000", "lo", "plo"), false},
		{"localhost/app", nil, false},
		{"other.io/app", nil, false},
	} {
		res, err := Resolve(context.Background(), f, tc.image, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.image, err)
		}
		if !reflect.DeepEqual(res.Credentials, tc.want) {
			t.Errorf("%s: %+v; want %+v", tc.image, res.Credentials, tc.want)
		}
		if res.PathScoped != tc.pathScoped {
			t.Errorf("%s: PathScoped = %v", tc.image, res.PathScoped)
		}
		for _, c := range res.Credentials {
			if !match.Matches(c.Key, tc.image) {
				t.Errorf("%s: the kubelet would not match key %q", tc.image, c.Key)
			}
		}
	}
}

func TestStoreCachesPathScopedPerImage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(authJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	st := &provider.Store{Sources: []provider.Source{&Source{Path: path}}}
	for image, want := range map[string]string{
		"quay.io/team-a/app":         provider.CacheKeyImage,
		"quay.io/team-c/app":         provider.CacheKeyImage, // quay.io answers, but team-a must not share the cache
		"legacy.io/app":              provider.CacheKeyRegistry,
		"registry.example.com/other": provider.CacheKeyImage,
	} {
		a := st.Resolve(context.Background(), image)
		if len(a.Credentials) != 1 || a.CacheKeyType != want {
			t.Errorf("%s: %+v; want cacheKeyType %s", image, a, want)
		}
	}
}

type fakeHelper struct {
	creds map[string][2]string
	calls []string
}

type fakeRun struct {
	h  *fakeHelper
	in io.Reader
}

func (h *fakeHelper) program(args ...string) client.Program { return &fakeRun{h: h} }
func (r *fakeRun) Input(in io.Reader)                       { r.in = in }
func (r *fakeRun) Output() ([]byte, error) {
	in, _ := io.ReadAll(r.in)
	r.h.calls = append(r.h.calls, string(in))
	c, ok := r.h.creds[string(in)]
	if !ok {
		return []byte("credentials not found in native keychain"), &credhelper.ExitError{Status: "exit status 1"}
	}
	return []byte(`{"Username":"` + c[0] + `","Secret":"` + c[1] + `"}`), nil
}

func TestCredHelpers(t *testing.T) {
	f, err := dockerconfig.Parse([]byte(`{"auths":{"quay.io/team-a":`+auth("a", "pa")+`},"credHelpers":{"quay.io":"fake","docker.io":"fake"},"credsStore":"ignored"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHelper{creds: map[string][2]string{"quay.io": {"robot", "pr"}, "docker.io": {"hub", "ph"}}}
	helpers := func(name string) *credhelper.Helper {
		if name != "fake" {
			t.Fatalf("asked for %q", name)
		}
		return &credhelper.Helper{Name: name, Program: h.program}
	}
	// The helper for the registry comes first, even before a namespaced key.
	res, err := Resolve(context.Background(), f, "quay.io/team-a/app", helpers)
	if err != nil || !reflect.DeepEqual(res.Credentials, cred("quay.io", "robot", "pr")) {
		t.Errorf("quay.io: %+v %v", res, err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), `credsStore "ignored" ignored`) {
		t.Errorf("notes = %q", res.Notes)
	}
	res, err = Resolve(context.Background(), f, "docker.io/library/nginx", helpers)
	if err != nil || !reflect.DeepEqual(res.Credentials, cred("docker.io", "hub", "ph")) {
		t.Errorf("docker.io: %+v %v", res, err)
	}
	if !reflect.DeepEqual(h.calls, []string{"quay.io", "docker.io"}) {
		t.Errorf("calls = %q", h.calls)
	}
	// A helper miss passes on to the file's own keys.
	delete(h.creds, "quay.io")
	res, err = Resolve(context.Background(), f, "quay.io/team-a/app", helpers)
	if err != nil || !reflect.DeepEqual(res.Credentials, cred("quay.io/team-a", "a", "pa")) {
		t.Errorf("quay.io after miss: %+v %v", res, err)
	}
}

func TestKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(authJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := (&Source{Path: path}).Keys()
	want := []string{"docker.io", "docker.io/library", "legacy.io", "localhost:5000", "quay.io", "quay.io/team", "quay.io/team-a", "quay.io/team-b/app", "registry.example.com", "scoped.io"}
	if err != nil || !reflect.DeepEqual(keys, want) {
		t.Errorf("Keys = %q, %v", keys, err)
	}
}

func TestDefaultPaths(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env      map[string]string
		want     []string
		optional bool
	}{
		{map[string]string{}, []string{"/run/containers/0/auth.json"}, true},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, []string{"/run/user/1000/containers/auth.json", "/run/containers/0/auth.json"}, true},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/0", "REGISTRY_AUTH_FILE": "/etc/auth.json"}, []string{"/etc/auth.json"}, false},
		{map[string]string{"HOME": "/root"}, []string{"/run/containers/0/auth.json", "/root/.config/containers/auth.json"}, true},
	} {
		got, optional := DefaultPaths(env(tc.env))
		if !reflect.DeepEqual(got, tc.want) || optional != tc.optional {
			t.Errorf("DefaultPaths(%v) = %q %v", tc.env, got, optional)
		}
	}
}

func TestMissingFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "auth.json")
	res, err := (&Source{Path: missing, Optional: true}).Lookup(context.Background(), "quay.io/app")
	if err != nil || len(res.Credentials) != 0 {
		t.Errorf("optional: %+v %v", res, err)
	}
	_, err = (&Source{Path: missing}).Lookup(context.Background(), "quay.io/app")
	if err == nil || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("named: %v", err)
	}
}

func FuzzAuthJSON(f *testing.F) {
	f.Add([]byte(authJSON), "quay.io/team-a/app")
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}},"credHelpers":{"r.io":"x"}}`), "docker.io/library/nginx")
	f.Add([]byte(`{"auths":{"r.io/a/b":{"username":"u","password":"p"}}}`), "r.io/a/b/c")
	f.Fuzz(func(t *testing.T, data []byte, ref string) {
		image, err := match.NormalizeImage(ref)
		if err != nil {
			return
		}
		file, err := dockerconfig.Parse(data, false)
		if err != nil {
			return
		}
		// Helpers are faked: a fuzzed name must never exec anything.
		h := &fakeHelper{creds: map[string][2]string{}}
		res, _ := Resolve(context.Background(), file, image, func(name string) *credhelper.Helper {
			return &credhelper.Helper{Name: "fake", Program: h.program}
		})
		if len(res.Credentials) > 1 {
			t.Fatalf("more than one key: %+v", res.Credentials)
		}
		for _, c := range res.Credentials {
			if c.Username == "" && c.Password == "" {
				t.Fatal("empty credential")
			}
			if !match.Matches(c.Key, image) {
				t.Fatalf("key %q does not match %q for the kubelet", c.Key, image)
			}
		}
	})
}

// containers/image matches a bare registry-1.docker.io key exactly for
// registry-1.docker.io images, and reads Docker Hub's names as one in its
// normalized pass (TestPodmanParity in e2e/tools/kube compares with it).
func TestRegistry1DockerIO(t *testing.T) {
	for _, tc := range []struct {
		file, image, key, user string
	}{
		{`{"auths":{"docker.io":` + auth("hub", "p") + `}}`, "registry-1.docker.io/library/nginx", "registry-1.docker.io", "hub"},
		{`{"auths":{"https://index.docker.io/v1/":` + auth("hub", "p") + `}}`, "registry-1.docker.io/team/app", "registry-1.docker.io", "hub"},
		{`{"auths":{"registry-1.docker.io":` + auth("r1", "p") + `,"docker.io/library":` + auth("lib", "p") + `}}`, "registry-1.docker.io/library/nginx", "registry-1.docker.io", "r1"},
		{`{"auths":{"registry-1.docker.io":` + auth("r1", "p") + `}}`, "docker.io/library/nginx", "docker.io", "r1"},
		{`{"auths":{"registry-1.docker.io/team":` + auth("team", "p") + `}}`, "registry-1.docker.io/team/app", "registry-1.docker.io/team", "team"},
	} {
		f, err := dockerconfig.Parse([]byte(tc.file), false)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Resolve(context.Background(), f, tc.image, nil)
		if err != nil || len(res.Credentials) != 1 || res.Credentials[0].Key != tc.key || res.Credentials[0].Username != tc.user {
			t.Errorf("%s in %s: %+v, %v; want %s under %q", tc.image, tc.file, res.Credentials, err, tc.user, tc.key)
		}
	}
}
