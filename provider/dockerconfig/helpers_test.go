package dockerconfig

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
)

// fakeStore is a credential helper holding creds by server URL; it records
// the calls made to it.
type fakeStore struct {
	creds   map[string][2]string
	failGet bool
	noList  bool
	calls   []string
}

type fakeCall struct {
	s      *fakeStore
	action string
	in     io.Reader
}

func (s *fakeStore) program(args ...string) client.Program { return &fakeCall{s: s, action: args[0]} }
func (c *fakeCall) Input(in io.Reader)                     { c.in = in }
func (c *fakeCall) Output() ([]byte, error) {
	in, _ := io.ReadAll(c.in)
	exit1 := &credhelper.ExitError{Status: "exit status 1"}
	switch c.action {
	case "list":
		c.s.calls = append(c.s.calls, "list")
		if c.s.noList {
			return []byte("list not supported"), exit1
		}
		var parts []string
		for u, cr := range c.s.creds {
			parts = append(parts, `"`+u+`":"`+cr[0]+`"`)
		}
		sort.Strings(parts)
		return []byte("{" + strings.Join(parts, ",") + "}"), nil
	case "get":
		c.s.calls = append(c.s.calls, "get "+string(in))
		if c.s.failGet {
			return []byte("gpg: decryption failed: No secret key"), exit1
		}
		cr, ok := c.s.creds[string(in)]
		if !ok {
			return []byte("credentials not found in native keychain"), exit1
		}
		return []byte(`{"Username":"` + cr[0] + `","Secret":"` + cr[1] + `"}`), nil
	}
	return nil, errors.New("bad action")
}

// helpers serves the named fake stores and records which names were asked.
func helpers(stores map[string]*fakeStore, asked *[]string) credhelper.Factory {
	return func(name string) *credhelper.Helper {
		*asked = append(*asked, name)
		s, ok := stores[name]
		if !ok {
			return nil // defaults: the real binary, which tests never reach
		}
		return &credhelper.Helper{Name: name, Program: s.program}
	}
}

func TestResolveWithHelpers(t *testing.T) {
	const hub = "https://index.docker.io/v1/"
	for _, tc := range []struct {
		name       string
		config     string
		image      string
		store, gc  *fakeStore
		want       []provider.Credential
		storeCalls []string
		gcCalls    []string
		pathScoped bool
		wantErr    string
	}{
		{
			name:       "placeholder hints the store's key: no list",
			config:     `{"auths":{"registry.example.com":{}},"credsStore":"store"}`,
			image:      "registry.example.com/team/app",
			store:      &fakeStore{creds: map[string][2]string{"registry.example.com": {"ci", "pw"}}},
			want:       []provider.Credential{cred("registry.example.com", "ci", "pw")},
			storeCalls: []string{"get registry.example.com"},
		},
		{
			name:       "docker hub through a placeholder answers as docker.io",
			config:     `{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"store"}`,
			image:      "docker.io/library/nginx",
			store:      &fakeStore{creds: map[string][2]string{hub: {"hub", "hubpw"}}},
			want:       []provider.Credential{cred("docker.io", "hub", "hubpw")},
			storeCalls: []string{"get " + hub},
		},
		{
			name:       "no placeholder: list, then get what matches",
			config:     `{"credsStore":"store"}`,
			image:      "quay.io/team-a/app",
			store:      &fakeStore{creds: map[string][2]string{"quay.io/team-a": {"a", "pa"}, "quay.io/team-b": {"b", "pb"}, hub: {"hub", "hubpw"}}},
			want:       []provider.Credential{cred("quay.io/team-a", "a", "pa")},
			storeCalls: []string{"list", "get quay.io/team-a"},
			pathScoped: true,
		},
		{
			name:       "credHelpers entry wins over credsStore and auths",
			config:     `{"auths":{"gcr.io":{"username":"plain","password":"pp"}},"credsStore":"store","credHelpers":{"gcr.io":"gc"}}`,
			image:      "gcr.io/project/app",
			store:      &fakeStore{creds: map[string][2]string{"gcr.io": {"s", "ps"}}},
			gc:         &fakeStore{creds: map[string][2]string{"gcr.io": {"oauth2accesstoken", "ya29"}}},
			want:       []provider.Credential{cred("gcr.io", "oauth2accesstoken", "ya29")},
			gcCalls:    []string{"get gcr.io"},
			storeCalls: nil,
		},
		{
			name:       "a credHelpers miss passes on to credsStore",
			config:     `{"credsStore":"store","credHelpers":{"https://gcr.io":"gc"}}`,
			image:      "gcr.io/project/app",
			store:      &fakeStore{creds: map[string][2]string{"gcr.io": {"s", "ps"}}},
			gc:         &fakeStore{},
			want:       []provider.Credential{cred("gcr.io", "s", "ps")},
			gcCalls:    []string{"get gcr.io"},
			storeCalls: []string{"list", "get gcr.io"},
		},
		{
			name:       "credHelpers for docker hub",
			config:     `{"credHelpers":{"https://index.docker.io/v1/":"gc","quay.io":""}}`,
			image:      "docker.io/team/app",
			gc:         &fakeStore{creds: map[string][2]string{hub: {"hub", "hubpw"}}},
			want:       []provider.Credential{cred("docker.io", "hub", "hubpw")},
			gcCalls:    []string{"get " + hub},
			storeCalls: nil,
		},
		{
			name:       "store misses: plain auths answer",
			config:     `{"auths":{"r.io":{"username":"u","password":"p"}},"credsStore":"store"}`,
			image:      "r.io/app",
			store:      &fakeStore{},
			want:       []provider.Credential{cred("r.io", "u", "p")},
			storeCalls: []string{"list", "get r.io"},
		},
		{
			name:       "store fails: plain auths answer, and the failure is reported",
			config:     `{"auths":{"r.io":{"username":"u","password":"p"},"s.io":{}},"credsStore":"store"}`,
			image:      "r.io/app",
			store:      &fakeStore{creds: map[string][2]string{"r.io": {"x", "y"}}, failGet: true},
			want:       []provider.Credential{cred("r.io", "u", "p")},
			storeCalls: []string{"list", "get r.io"},
			wantErr:    `credsStore: docker-credential-store get: exit status 1: "gpg: decryption failed: No secret key"`,
		},
		{
			name:       "identity token in the store is skipped",
			config:     `{"auths":{"r.io":{}},"credsStore":"store"}`,
			image:      "r.io/app",
			store:      &fakeStore{creds: map[string][2]string{"r.io": {"<token>", "refresh"}}},
			storeCalls: []string{"get r.io"},
		},
		{
			name:       "credHelpers for another registry are not asked",
			config:     `{"credHelpers":{"gcr.io":"gc"}}`,
			image:      "r.io/app",
			gc:         &fakeStore{},
			storeCalls: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.config), false)
			if err != nil {
				t.Fatal(err)
			}
			stores := map[string]*fakeStore{}
			if tc.store != nil {
				stores["store"] = tc.store
			}
			if tc.gc != nil {
				stores["gc"] = tc.gc
			}
			var asked []string
			res, err := f.Resolve(context.Background(), tc.image, helpers(stores, &asked))
			if !sameSet(res.Credentials, tc.want) {
				t.Errorf("credentials = %+v; want %+v", res.Credentials, tc.want)
			}
			if tc.store != nil && !reflect.DeepEqual(tc.store.calls, tc.storeCalls) {
				t.Errorf("store calls = %q; want %q", tc.store.calls, tc.storeCalls)
			}
			if tc.gc != nil && !reflect.DeepEqual(tc.gc.calls, tc.gcCalls) {
				t.Errorf("gc calls = %q; want %q", tc.gc.calls, tc.gcCalls)
			}
			if res.PathScoped != tc.pathScoped {
				t.Errorf("PathScoped = %v", res.PathScoped)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && err.Error() != tc.wantErr {
				t.Errorf("error = %v; want %q", err, tc.wantErr)
			}
			for _, n := range res.Notes {
				for _, s := range []string{"pw", "ps", "ya29", "refresh"} {
					if strings.Contains(n, `"`+s) {
						t.Errorf("note may leak %q: %s", s, n)
					}
				}
			}
		})
	}
}

func TestSourceWithHelpers(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "config.json", `{"auths":{"https://index.docker.io/v1/":{},"r.io":{"username":"u","password":"p"}},"credsStore":"store","credHelpers":{"gcr.io":"gc"}}`)
	store := &fakeStore{creds: map[string][2]string{"https://index.docker.io/v1/": {"hub", "hubpw"}, "quay.io/team-a": {"a", "pa"}}}
	var asked []string
	src := &Source{Path: path, Helpers: helpers(map[string]*fakeStore{"store": store, "gc": {}}, &asked)}
	a := (&provider.Store{Sources: []provider.Source{src}}).Resolve(context.Background(), "docker.io/library/nginx")
	if !reflect.DeepEqual(a.Credentials, []provider.Credential{cred("docker.io", "hub", "hubpw")}) || a.CacheKeyType != provider.CacheKeyRegistry {
		t.Errorf("hub: %+v", a)
	}
	keys, err := src.Keys()
	if err != nil || !reflect.DeepEqual(keys, []string{"docker.io", "gcr.io", "quay.io/team-a", "r.io"}) {
		t.Errorf("Keys = %q, %v", keys, err)
	}
	// The store cannot list: its placeholders stand in, and the failure is
	// reported with the file's path.
	store.noList = true
	keys, err = src.Keys()
	if !reflect.DeepEqual(keys, []string{"docker.io", "gcr.io", "r.io"}) || err == nil || !strings.HasPrefix(err.Error(), path+": credsStore: docker-credential-store list: ") {
		t.Errorf("Keys without list = %q, %v", keys, err)
	}
	// A store failure reaches the operator with the file's path.
	store.failGet = true
	res, err := src.Lookup(context.Background(), "docker.io/library/nginx")
	if len(res.Credentials) != 0 || err == nil || !strings.HasPrefix(err.Error(), path+": credsStore: docker-credential-store get: exit status 1") {
		t.Errorf("failing store: %+v %v", res, err)
	}
}

// With no Helpers factory, a helper gets the defaults: the real binary, here
// absent, is reported by name.
func TestDefaultHelper(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f, err := Parse([]byte(`{"credsStore":"nonexistent"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Resolve(context.Background(), "r.io/app", nil)
	if err == nil || !strings.Contains(err.Error(), "credsStore: docker-credential-nonexistent list: docker-credential-nonexistent not found in PATH") {
		t.Errorf("error = %v", err)
	}
}

// The fall-through from a helper with nothing to the plain entry is ours:
// docker's native store and GetAllCredentials let the helper's empty answer
// win. The docs must not credit docker with it.
func TestDocsOwnTheFallThrough(t *testing.T) {
	for _, f := range []string{"../../README.md", "doc.go", "helpers.go"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(data)), " ")
		text = strings.ReplaceAll(text, " // ", " ")
		for _, claim := range []string{"as docker's `GetAllCredentials` does", "as docker's GetAllCredentials", "as in docker's GetAllCredentials"} {
			if strings.Contains(text, claim) {
				t.Errorf("%s says the fall-through is %q", f, claim)
			}
		}
		if !strings.Contains(text, "our choice, not docker's") {
			t.Errorf("%s does not say the fall-through is our choice", f)
		}
	}
}
