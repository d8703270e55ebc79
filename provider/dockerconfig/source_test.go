package dockerconfig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func cred(key, user, pass string) provider.Credential {
	return provider.Credential{Key: key, Username: user, Password: pass}
}

func TestFileLookup(t *testing.T) {
	const cfg = `{"auths":{
		"https://index.docker.io/v1/": {"auth":"` + "aHViOmh1YnBhc3M=" + `"},
		"quay.io/team-a":               {"username":"a","password":"pa"},
		"quay.io/team-b":               {"username":"b","password":"pb"},
		"*.example.com":                {"username":"w","password":"pw"},
		"registry.example.com":         {"username":"r","password":"pr"},
		"http://localhost:5443/v2/":    {"username":"l","password":"pl"},
		"https://reg.io/v1/deep/path":  {"username":"d","password":"pd"},
		"empty.io":                     {}
	}}`
	f, err := Parse([]byte(cfg), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		image      string
		want       []provider.Credential
		pathScoped bool
	}{
		{"docker.io/library/nginx", []provider.Credential{cred("index.docker.io", "hub", "hubpass")}, false},
		{"docker.io/team/app", []provider.Credential{cred("index.docker.io", "hub", "hubpass")}, false},
		{"quay.io/team-a/app", []provider.Credential{cred("quay.io/team-a", "a", "pa")}, true},
		{"quay.io/team-b/app", []provider.Credential{cred("quay.io/team-b", "b", "pb")}, true},
		{"quay.io/team-c/app", nil, true},
		{"registry.example.com/app", []provider.Credential{cred("*.example.com", "w", "pw"), cred("registry.example.com", "r", "pr")}, false},
		{"other.example.com/app", []provider.Credential{cred("*.example.com", "w", "pw")}, false},
		{"a.b.example.com/app", nil, false},
		{"localhost:5443/lab/busybox", []provider.Credential{cred("localhost:5443", "l", "pl")}, false},
		{"localhost/lab/busybox", nil, false},
		{"reg.io/deep/path/x", []provider.Credential{cred("reg.io/deep/path", "d", "pd")}, true},
		{"reg.io/other", nil, true},
		{"empty.io/app", nil, false},
		{"registry-1.docker.io/library/nginx", nil, false},
	} {
		res := f.Lookup(tc.image)
		got := res.Credentials
		// The store sorts; compare as sets here.
		if !sameSet(got, tc.want) {
			t.Errorf("Lookup(%s) = %+v; want %+v", tc.image, got, tc.want)
		}
		if res.PathScoped != tc.pathScoped {
			t.Errorf("Lookup(%s).PathScoped = %v; want %v", tc.image, res.PathScoped, tc.pathScoped)
		}
	}
}

func sameSet(a, b []provider.Credential) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[provider.Credential]int{}
	for _, c := range a {
		m[c]++
	}
	for _, c := range b {
		m[c]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// The Docker Hub fallback applies only when no other key matched, as in the
// kubelet; a docker.io key wins over it.
func TestDockerHubKeys(t *testing.T) {
	f, err := Parse([]byte(`{"auths":{"https://index.docker.io/v1/":{"username":"old","password":"1"},"docker.io":{"username":"new","password":"2"}}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Lookup("docker.io/library/nginx").Credentials
	if !reflect.DeepEqual(got, []provider.Credential{cred("docker.io", "new", "2")}) {
		t.Errorf("got %+v", got)
	}
	// Two spellings of one key: both credentials, as the kubelet's keyring
	// keeps both; the same credential twice is sent once.
	f, err = Parse([]byte(`{"auths":{"https://index.docker.io/v1/":{"username":"a","password":"1"},"index.docker.io":{"username":"b","password":"2"},"index.docker.io/v1/":{"username":"a","password":"1"}}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	got = f.Lookup("docker.io/library/nginx").Credentials
	if !reflect.DeepEqual(got, []provider.Credential{cred("index.docker.io", "a", "1"), cred("index.docker.io", "b", "2")}) {
		t.Errorf("got %+v", got)
	}
}

// Two spellings of one registry are two credentials; more than
// match.WireKey can spell apart are noted, not sent.
func TestTwoSpellings(t *testing.T) {
	f, err := Parse([]byte(`{"auths":{"https://quay.io/v1/":{"username":"stale","password":"1"},"quay.io":{"username":"right","password":"2"}}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Lookup("quay.io/team/app").Credentials
	if !reflect.DeepEqual(got, []provider.Credential{cred("quay.io", "stale", "1"), cred("quay.io", "right", "2")}) {
		t.Errorf("got %+v", got)
	}
	var b strings.Builder
	b.WriteString(`{"auths":{`)
	spellings := []string{"quay.io", "quay.io/", "https://quay.io", "https://quay.io/", "http://quay.io", "https://quay.io/v1/", "https://quay.io/v2/", "quay.io/v1/", "quay.io/v2/", "http://quay.io/v1/"}
	for i, k := range spellings {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%q:{"username":"u%d","password":"p"}`, k, i)
	}
	b.WriteString(`}}`)
	if f, err = Parse([]byte(b.String()), false); err != nil {
		t.Fatal(err)
	}
	res := f.Lookup("quay.io/app")
	if len(res.Credentials) != 9 {
		t.Errorf("%d credentials, want the 9 that can be spelled apart", len(res.Credentials))
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "skipped: more than 9 credentials") {
		t.Errorf("notes %q do not say the tenth was skipped", res.Notes)
	}
}

func TestStoreOverFiles(t *testing.T) {
	dir := t.TempDir()
	first := writeFile(t, dir, "first.json", `{"auths":{"quay.io/team-a":{"username":"a","password":"pa"}}}`)
	second := writeFile(t, dir, "second.json", `{"auths":{"quay.io":{"username":"q","password":"pq"},"r.io":{"username":"r","password":"pr"}}}`)
	broken := writeFile(t, dir, "broken.json", `{"auths":{"r.io":`)
	missing := filepath.Join(dir, "missing.json")

	store := &provider.Store{Sources: Sources([]string{first, second}, "", nil), CacheDuration: time.Minute}
	// The first file with a match answers, with all its matches.
	a := store.Resolve(context.Background(), "quay.io/team-a/app")
	if a.Source != first || !reflect.DeepEqual(a.Credentials, []provider.Credential{cred("quay.io/team-a", "a", "pa")}) || a.CacheKeyType != provider.CacheKeyImage {
		t.Errorf("team-a: %+v", a)
	}
	// An earlier file scoped a path on quay.io: the answer from the second
	// file must not be cached for all of quay.io.
	a = store.Resolve(context.Background(), "quay.io/team-b/app")
	if a.Source != second || a.CacheKeyType != provider.CacheKeyImage || a.CacheDuration != time.Minute {
		t.Errorf("team-b: %+v", a)
	}
	a = store.Resolve(context.Background(), "r.io/app")
	if a.Source != second || a.CacheKeyType != provider.CacheKeyRegistry || a.CacheDuration != time.Minute {
		t.Errorf("r.io: %+v", a)
	}

	// A broken or missing named file never hides a good one, is reported,
	// and keeps the kubelet from caching the answer.
	store = &provider.Store{Sources: Sources([]string{broken, missing, second}, "", nil), CacheDuration: time.Minute}
	a = store.Resolve(context.Background(), "r.io/app")
	if a.Source != second || len(a.Credentials) != 1 || a.CacheDuration != 0 {
		t.Errorf("with broken: %+v", a)
	}
	errs := a.Errors()
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "broken.json: not valid JSON") || !strings.Contains(errs[1].Error(), "missing.json") {
		t.Errorf("errors: %v", errs)
	}
}

func TestDefaultPaths(t *testing.T) {
	got := DefaultPaths("/var/lib/kubelet", "/root")
	want := []string{
		"/var/lib/kubelet/config.json", "/root/.docker/config.json", "/.docker/config.json",
		"/var/lib/kubelet/.dockercfg", "/root/.dockercfg", "/.dockercfg",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultPaths = %v", got)
	}
	// HOME=/ makes two entries the same file: read it once.
	if got := DefaultPaths("/var/lib/kubelet", "/"); len(got) != 4 {
		t.Errorf("DefaultPaths with HOME=/ = %v", got)
	}
}

func TestDefaultSourcesSkipMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	writeFile(t, dir, "config.json", `{"auths":{"r.io":{"username":"u","password":"p"}}}`)
	store := &provider.Store{Sources: Sources(nil, dir, nil)}
	a := store.Resolve(context.Background(), "r.io/app")
	if len(a.Credentials) != 1 || len(a.Errors()) != 0 {
		t.Errorf("%+v", a)
	}
	a = store.Resolve(context.Background(), "other.io/app")
	if len(a.Credentials) != 0 || len(a.Errors()) != 0 || len(a.Steps) < 4 {
		t.Errorf("%+v", a)
	}
}
