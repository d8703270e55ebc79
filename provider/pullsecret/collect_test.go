package pullsecret

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
)

func writeConfig(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// helperSource stands for a source that answers per image and cannot list,
// such as a credential helper.
type helperSource struct {
	creds map[string]provider.Credential
}

func (h *helperSource) Name() string { return "helper" }
func (h *helperSource) Lookup(_ context.Context, image string) (provider.Result, error) {
	var res provider.Result
	for prefix, c := range h.creds {
		if strings.HasPrefix(image, prefix+"/") {
			res.Credentials = append(res.Credentials, c)
		}
	}
	return res, nil
}

func TestCollect(t *testing.T) {
	first := writeConfig(t, `{"auths":{
		"https://index.docker.io/v1/": {"auth":"`+dockerconfig.EncodeAuth("hub", "hubpass")+`"},
		"quay.io/team-a":              {"username":"a","password":"pa"},
		"*.example.com":               {"username":"w","password":"pw"},
		"localhost:5443":              {"username":"l","password":"pl"}
	}}`)
	second := writeConfig(t, `{"auths":{
		"quay.io":        {"username":"q","password":"pq"},
		"localhost:5443": {"username":"shadowed","password":"x"},
		"ghcr.io":        {"username":"g","password":"pg"}
	}}`)
	store := &provider.Store{Sources: []provider.Source{
		&dockerconfig.Source{Path: first},
		&dockerconfig.Source{Path: second},
		&helperSource{creds: map[string]provider.Credential{"helper.io": {Key: "helper.io", Username: "h", Password: "ph"}}},
	}}
	e := func(server, user, pass string) Entry { return Entry{Server: server, Username: user, Password: pass} }
	for _, tc := range []struct {
		name    string
		req     Request
		want    []Entry
		missing []string
		reason  string
	}{
		{
			name: "registries are written as given",
			req:  Request{Registries: []string{"localhost:5443", "https://quay.io/v1/", "ghcr.io"}},
			want: []Entry{e("localhost:5443", "l", "pl"), e("https://quay.io/v1/", "q", "pq"), e("ghcr.io", "g", "pg")},
		},
		{
			name: "docker hub in every spelling uses the index.docker.io entry",
			req:  Request{Registries: []string{"https://index.docker.io/v1/", "docker.io", "index.docker.io", "docker.io/myorg"}},
			want: []Entry{
				e("https://index.docker.io/v1/", "hub", "hubpass"), e("docker.io", "hub", "hubpass"),
				e("index.docker.io", "hub", "hubpass"), e("docker.io/myorg", "hub", "hubpass"),
			},
		},
		{
			name: "a path-scoped credential is used for its path and below",
			req:  Request{Registries: []string{"quay.io/team-a", "quay.io/team-a/app", "quay.io/team-b"}},
			want: []Entry{e("quay.io/team-a", "a", "pa"), e("quay.io/team-a/app", "a", "pa"), e("quay.io/team-b", "q", "pq")},
		},
		{
			name: "a glob credential answers for a host it matches",
			req:  Request{Registries: []string{"registry.example.com"}},
			want: []Entry{e("registry.example.com", "w", "pw")},
		},
		{
			name: "sources that cannot list still answer for registries",
			req:  Request{Registries: []string{"helper.io"}},
			want: []Entry{e("helper.io", "h", "ph")},
		},
		{
			name: "images are written under the key the kubelet matches",
			req:  Request{Images: []string{"nginx:1.27", "quay.io/team-a/app@sha256:" + strings.Repeat("0", 64), "quay.io/other/app", "a.example.com/x"}},
			want: []Entry{e("index.docker.io", "hub", "hubpass"), e("quay.io/team-a", "a", "pa"), e("quay.io", "q", "pq"), e("*.example.com", "w", "pw")},
		},
		{
			name: "all: every key the store answers with, shadowed keys left out",
			req:  Request{All: true},
			want: []Entry{
				e("*.example.com", "w", "pw"), e("ghcr.io", "g", "pg"), e("index.docker.io", "hub", "hubpass"),
				e("localhost:5443", "l", "pl"), e("quay.io", "q", "pq"), e("quay.io/team-a", "a", "pa"),
			},
		},
		{
			name:    "missing registry",
			req:     Request{Registries: []string{"ghcr.io", "nowhere.io", "store.io"}},
			want:    []Entry{e("ghcr.io", "g", "pg")},
			missing: []string{"nowhere.io", "store.io"},
			reason:  "no source has a credential for it",
		},
		{
			name:    "missing image",
			req:     Request{Images: []string{"nowhere.io/app"}},
			missing: []string{"nowhere.io/app"},
			reason:  "no source has a credential for nowhere.io/app",
		},
		{
			name:    "a registry with only path-scoped credentials says so",
			req:     Request{Registries: []string{"quay.io:443"}},
			missing: []string{"quay.io:443"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Collect(store, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Entries, tc.want) {
				t.Errorf("entries\n got %+v\nwant %+v", c.Entries, tc.want)
			}
			var missing []string
			for _, m := range c.Missing {
				missing = append(missing, m.What)
				if tc.reason != "" && m.Reason != tc.reason {
					t.Errorf("%s: reason %q, want %q", m.What, m.Reason, tc.reason)
				}
			}
			if !reflect.DeepEqual(missing, tc.missing) {
				t.Errorf("missing %q, want %q", missing, tc.missing)
			}
			if len(c.Problems) > 0 {
				t.Errorf("problems: %v", c.Problems)
			}
		})
	}
}

func TestCollectPathScopedHint(t *testing.T) {
	store := &provider.Store{Sources: []provider.Source{&dockerconfig.Source{Path: writeConfig(t, `{"auths":{"quay.io/team-a":{"username":"a","password":"pa"}}}`)}}}
	c, err := Collect(store, Request{Registries: []string{"quay.io"}})
	if err != nil || len(c.Missing) != 1 || !strings.Contains(c.Missing[0].Reason, "only for repository paths under it") {
		t.Errorf("%+v, %v", c, err)
	}
}

func TestCollectErrors(t *testing.T) {
	store := &provider.Store{Sources: []provider.Source{&dockerconfig.Source{Path: writeConfig(t, `{"auths":{}}`)}}}
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Registries: []string{""}}, "a registry is empty"},
		{Request{Registries: []string{"https://bad host/"}}, `registry "https://bad host/"`},
		{Request{Registries: []string{"*.example.com"}}, "globs are not supported here"},
		{Request{Images: []string{"Bad/Image"}}, `image "Bad/Image"`},
		{Request{All: true}, ""},
	} {
		_, err := Collect(store, tc.req)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.req, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.req, err, tc.want)
		}
	}
	noList := &provider.Store{Sources: []provider.Source{&helperSource{}}}
	if _, err := Collect(noList, Request{All: true}); err == nil || !strings.Contains(err.Error(), "no source can list") {
		t.Errorf("--all without listers: %v", err)
	}
}

// A source that cannot be read is reported, and what the others hold is
// still collected.
func TestCollectProblems(t *testing.T) {
	good := writeConfig(t, `{"auths":{"r.io":{"username":"u","password":"p"}}}`)
	store := &provider.Store{Sources: []provider.Source{
		&dockerconfig.Source{Path: filepath.Join(t.TempDir(), "missing.json")},
		&dockerconfig.Source{Path: good},
	}}
	c, err := Collect(store, Request{Registries: []string{"r.io"}, All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Entries) != 2 || len(c.Problems) != 1 || !errors.Is(c.Problems[0], os.ErrNotExist) && !strings.Contains(c.Problems[0].Error(), "missing.json") {
		t.Errorf("%+v", c)
	}
}

// A source that cannot list, named and restricted as the configuration
// wraps every source, is still one that cannot list: --all says so and
// leaves it out. (The decorators once listed for every source, so this
// path could not be reached.)
func TestCollectAllNamesSourcesThatCannotList(t *testing.T) {
	cfg := writeConfig(t, `{"auths":{"r.io":{"username":"u","password":"p"}}}`)
	helper := provider.Restrict(provider.WithName(&helperSource{creds: map[string]provider.Credential{"helper.io": {Key: "helper.io", Username: "h", Password: "ph"}}}, "team"), []string{"helper.io"})
	store := &provider.Store{Sources: []provider.Source{provider.WithName(&dockerconfig.Source{Path: cfg}, "node"), helper}}
	c, err := Collect(store, Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Entries) != 1 || c.Entries[0].Server != "r.io" {
		t.Errorf("entries %+v", c.Entries)
	}
	want := "team (helper) cannot list its keys; --all leaves it out"
	found := false
	for _, n := range c.Notes {
		found = found || n == want
	}
	if !found {
		t.Errorf("notes %q lack %q", c.Notes, want)
	}
	if _, err := Collect(&provider.Store{Sources: []provider.Source{helper}}, Request{All: true}); err == nil || !strings.Contains(err.Error(), "no source can list its keys") {
		t.Errorf("only a source that cannot list: %v", err)
	}
}

// What is missing while a source failed says so, in plugin mode's words
// (provider.Decide), naming the registry or image as asked for.
func TestCollectMissingBecauseASourceFailed(t *testing.T) {
	broken := writeConfig(t, `{"auths":`)
	store := &provider.Store{Sources: []provider.Source{&dockerconfig.Source{Path: broken}}}
	c, err := Collect(store, Request{Registries: []string{"https://r.io/v1/"}, Images: []string{"r.io/app"}})
	if err != nil {
		t.Fatal(err)
	}
	ans := store.Resolve(context.Background(), "r.io/app")
	plugin := provider.Decide(&ans, "")
	if len(c.Missing) != 2 || len(c.Entries) != 0 || !plugin.Failed() ||
		c.Missing[0].What != "https://r.io/v1/" || c.Missing[0].Reason != strings.Replace(plugin.Error, "r.io/app", "https://r.io/v1/", 1) ||
		c.Missing[1].What != "r.io/app" || c.Missing[1].Reason != plugin.Error ||
		!strings.Contains(plugin.Error, "no credentials for r.io/app, and ") || !strings.Contains(plugin.Error, broken) {
		t.Errorf("missing %+v, plugin mode says %q", c.Missing, plugin.Error)
	}
}

// A key whose path starts with /v2/ is written so that the kubelet, which
// strips one /v1/ or /v2/ from a Secret's keys, reads it back as itself.
func TestCollectSpellsKeysForTheKubelet(t *testing.T) {
	path := writeConfig(t, `{"auths":{"https://quay.io/v1/v2/team":{"username":"t","password":"pt"}}}`)
	store := &provider.Store{Sources: []provider.Source{&dockerconfig.Source{Path: path}}}
	for _, req := range []Request{{Images: []string{"quay.io/v2/team/app"}}, {All: true}} {
		c, err := Collect(store, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Entries) != 1 || c.Entries[0].Server != "quay.io/v1/v2/team" {
			t.Errorf("%+v: entries %+v, want one under quay.io/v1/v2/team", req, c.Entries)
		}
	}
}

// An image's answer may carry several credentials, as plugin mode sends
// them: the runtime tries them in turn, so the Secret keeps one per key
// and says which it left out.
func TestCollectImageKeepsEveryKeyOfItsAnswer(t *testing.T) {
	p := writeConfig(t, `{"auths":{
		"quay.io/team-a":  {"username":"a","password":"pa"},
		"quay.io":         {"username":"q","password":"pq"},
		"https://quay.io": {"username":"q2","password":"pq2"}
	}}`)
	store := &provider.Store{Sources: []provider.Source{&dockerconfig.Source{Path: p}}}
	ans := store.Resolve(context.Background(), "quay.io/team-a/app")
	if len(ans.Credentials) != 3 {
		t.Fatalf("plugin mode's answer: %+v", ans.Credentials)
	}
	c, err := Collect(store, Request{Images: []string{"quay.io/team-a/app"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.Server+"="+e.Username)
	}
	want := []string{"quay.io/team-a=a", "quay.io=" + ans.Credentials[1].Username}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if notes := strings.Join(c.Notes, "\n"); !strings.Contains(notes, `another credential for "quay.io"`) {
		t.Errorf("no note of the credential left out: %s", notes)
	}
	if _, err := DockerConfigJSON(c.Entries); err != nil {
		t.Errorf("the entries do not make one config: %v", err)
	}
}
