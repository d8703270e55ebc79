package credhelper

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

func pc(key, user, pass string) provider.Credential {
	return provider.Credential{Key: key, Username: user, Password: pass}
}

func TestAnswerKey(t *testing.T) {
	for _, tc := range []struct {
		url, image, key string
		ok              bool
	}{
		{"https://index.docker.io/v1/", "docker.io/library/nginx", "docker.io", true},
		{"index.docker.io", "docker.io/team/app", "docker.io", true},
		{"https://index.docker.io/v1/", "quay.io/app", "docker.io", false},
		{"docker.io", "docker.io/library/nginx", "docker.io", true},
		{"registry-1.docker.io", "docker.io/library/nginx", "registry-1.docker.io", false},
		{"quay.io", "quay.io/team-a/app", "quay.io", true},
		{"https://quay.io/v2/", "quay.io/team-a/app", "quay.io", true},
		{"quay.io/team-a", "quay.io/team-a/app", "quay.io/team-a", true},
		{"quay.io/team-a", "quay.io/team-b/app", "quay.io/team-a", false},
		{"localhost:5443", "localhost:5443/lab/busybox", "localhost:5443", true},
		{"localhost", "localhost:5443/lab/busybox", "localhost", false},
		{"https://bad url/", "r.io/x", "", false},
	} {
		key, ok := AnswerKey(tc.url, tc.image)
		if key != tc.key || ok != tc.ok {
			t.Errorf("AnswerKey(%q, %q) = %q, %v; want %q, %v", tc.url, tc.image, key, ok, tc.key, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	store := map[string]reply{
		"https://index.docker.io/v1/": cred("hub", "hubpass"),
		"quay.io":                     cred("q", "pq"),
		"quay.io/team-a":              cred("a", "pa"),
		"token.io":                    cred("<token>", secret),
		"broken.io":                   {out: "store locked", err: errExit1},
	}
	for _, tc := range []struct {
		name       string
		image      string
		list       *reply
		want       []provider.Credential
		pathScoped bool
		calls      []string
		wantErr    string
	}{
		{name: "hub", image: "docker.io/library/nginx",
			want:  []provider.Credential{pc("docker.io", "hub", "hubpass")},
			calls: []string{"list", "get https://index.docker.io/v1/"}},
		{name: "path-scoped and registry keys", image: "quay.io/team-a/app",
			want:       []provider.Credential{pc("quay.io", "q", "pq"), pc("quay.io/team-a", "a", "pa")},
			pathScoped: true,
			calls:      []string{"list", "get quay.io", "get quay.io/team-a"}},
		{name: "other path on a scoped registry", image: "quay.io/team-b/app",
			want: []provider.Credential{pc("quay.io", "q", "pq")}, pathScoped: true,
			calls: []string{"list", "get quay.io"}},
		{name: "nothing listed: ask for the registry", image: "other.io/app",
			calls: []string{"list", "get other.io"}},
		{name: "list fails: ask for the registry", image: "quay.io/app",
			list:  &reply{out: "unknown command", err: errExit1},
			want:  []provider.Credential{pc("quay.io", "q", "pq")},
			calls: []string{"list", "get quay.io"}},
		{name: "list fails and get misses", image: "other.io/app",
			list:    &reply{out: "unknown command", err: errExit1},
			calls:   []string{"list", "get other.io"},
			wantErr: `docker-credential-fake list: exit status 1: "unknown command"`},
		{name: "list fails for hub", image: "docker.io/library/nginx",
			list:  &reply{err: errExit1},
			want:  []provider.Credential{pc("docker.io", "hub", "hubpass")},
			calls: []string{"list", "get https://index.docker.io/v1/"}},
		{name: "identity token is not usable", image: "token.io/app",
			calls: []string{"list", "get token.io"}},
		{name: "get fails", image: "broken.io/app",
			calls:   []string{"list", "get broken.io"},
			wantErr: `docker-credential-fake get: exit status 1: "store locked"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{get: store, list: tc.list}
			res, err := Resolve(context.Background(), &Helper{Name: "fake", Program: f.program}, tc.image)
			if !reflect.DeepEqual(res.Credentials, tc.want) {
				t.Errorf("credentials = %+v; want %+v", res.Credentials, tc.want)
			}
			if res.PathScoped != tc.pathScoped {
				t.Errorf("PathScoped = %v", res.PathScoped)
			}
			if !reflect.DeepEqual(f.calls, tc.calls) {
				t.Errorf("calls = %q; want %q", f.calls, tc.calls)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && err.Error() != tc.wantErr {
				t.Errorf("error = %v; want %q", err, tc.wantErr)
			}
			for _, n := range res.Notes {
				if strings.Contains(n, secret) || strings.Contains(n, "hubpass") {
					t.Errorf("note leaks: %s", n)
				}
			}
		})
	}
}

func TestResolveNotesIdentityToken(t *testing.T) {
	f := &fake{get: map[string]reply{"token.io": cred("<token>", secret)}}
	res, err := Resolve(context.Background(), &Helper{Name: "fake", Program: f.program}, "token.io/app")
	if err != nil || len(res.Credentials) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "identity token") {
		t.Errorf("notes = %q", res.Notes)
	}
}

func TestSource(t *testing.T) {
	f := &fake{get: map[string]reply{
		"https://index.docker.io/v1/": cred("hub", "hubpass"),
		"quay.io":                     cred("q", "pq"),
		"quay.io/team-b":              cred("b", "pb"),
		"elsewhere.io":                cred("e", "pe"),
	}}
	s := provider.Restrict(&Source{Helper: &Helper{Name: "fake", Program: f.program}}, []string{"docker.io", "quay.io/team-a"})
	if s.Name() != "docker-credential-fake" {
		t.Errorf("Name = %q", s.Name())
	}
	res, err := s.Lookup(context.Background(), "elsewhere.io/app")
	if err != nil || len(res.Credentials) != 0 || len(f.calls) != 0 || !strings.HasPrefix(res.Notes[0], "not consulted: the image matches none of matchImages") {
		t.Errorf("unmatched image: %+v %v calls=%q", res, err, f.calls)
	}
	res, err = s.Lookup(context.Background(), "quay.io/team-a/app")
	if err != nil || !reflect.DeepEqual(res.Credentials, []provider.Credential{pc("quay.io", "q", "pq")}) || !res.PathScoped {
		t.Errorf("team-a: %+v %v", res, err)
	}
	res, err = s.Lookup(context.Background(), "docker.io/library/nginx")
	if err != nil || !reflect.DeepEqual(res.Credentials, []provider.Credential{pc("docker.io", "hub", "hubpass")}) || res.PathScoped {
		t.Errorf("hub: %+v %v", res, err)
	}
	// The restriction's keys are those whose every image it lets through:
	// quay.io would hand the credential to more than quay.io/team-a in an
	// exported Secret. (The helper source once kept it, by a rule of its own
	// that disagreed with every other restricted source.)
	keys, err := s.(provider.Lister).Keys()
	if err != nil || !reflect.DeepEqual(keys, []string{"docker.io"}) {
		t.Errorf("Keys = %q, %v", keys, err)
	}

	// Through the store: the keys go back sorted, and the path pattern keeps
	// the answer from being cached for all of quay.io.
	a := (&provider.Store{Sources: []provider.Source{s}}).Resolve(context.Background(), "quay.io/team-a/app")
	if a.CacheKeyType != provider.CacheKeyImage {
		t.Errorf("cache key type = %s", a.CacheKeyType)
	}
}

func FuzzHelperOutput(f *testing.F) {
	for _, s := range []string{
		`{"ServerURL":"r.io","Username":"u","Secret":"p"}`,
		`{"Username":"<token>","Secret":"t"}`,
		`null`, `{}`, `{"Username":5}`, "credentials not found in native keychain\n",
		`{"https://index.docker.io/v1/":"u","quay.io/team":"q"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, out []byte, failed bool) {
		const marker = "SECRET-MARKER"
		r := reply{out: string(out) + marker}
		if failed {
			r.err = errExit1
		}
		fk := &fake{get: map[string]reply{"r.io": r}, list: &r}
		h := &Helper{Name: "fuzz", Program: fk.program}
		user, pass, found, err := h.Get(context.Background(), "r.io")
		if err != nil {
			if found || user != "" || pass != "" {
				t.Fatal("credential returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "docker-credential-fuzz get: ") {
				t.Fatalf("error does not name the helper: %v", err)
			}
			// Only a failing helper's one-line message may appear.
			if strings.Contains(err.Error(), marker) && (!failed || oneLine([]byte(r.out)) == "") {
				t.Fatalf("error repeats the output: %v", err)
			}
		}
		res, _ := Resolve(context.Background(), h, "r.io/app")
		for _, c := range res.Credentials {
			if c.Username == IdentityTokenUsername || c.Username == "" && c.Password == "" {
				t.Fatalf("unusable credential returned: %q", c.Username)
			}
		}
	})
}

// A helper that hung costs a run its timeout once: no get after a hung list,
// and no second call on the same Helper.
func TestResolveStopsAfterHang(t *testing.T) {
	f := &fake{get: map[string]reply{"r.io": cred("u", "p")}, list: &reply{err: &TimeoutError{After: 10 * time.Second}}}
	h := &Helper{Name: "fake", Program: f.program}
	_, err := Resolve(context.Background(), h, "r.io/app")
	if err == nil || err.Error() != "docker-credential-fake list: timed out after 10s" {
		t.Errorf("error = %v", err)
	}
	_, _, _, err = h.Get(context.Background(), "r.io")
	if err == nil || err.Error() != "docker-credential-fake get: not run again (docker-credential-fake list: timed out after 10s)" {
		t.Errorf("second call error = %v", err)
	}
	if !reflect.DeepEqual(f.calls, []string{"list"}) {
		t.Errorf("calls = %q", f.calls)
	}
}

func TestShared(t *testing.T) {
	calls := 0
	shared := NewFactory(func(name string) *Helper {
		calls++
		if name == "pass" {
			return &Helper{Name: name, Timeout: time.Second}
		}
		return nil
	})
	a, b := shared("pass"), shared("pass")
	if a != b || a.Timeout != time.Second || calls != 1 {
		t.Errorf("pass: %p %p %v calls=%d", a, b, a.Timeout, calls)
	}
	if d := shared("secretservice"); d.Name != "secretservice" || d.Timeout != 0 || d != shared("secretservice") {
		t.Errorf("default: %+v", d)
	}
	if d := NewFactory(nil)("x"); d.Name != "x" {
		t.Errorf("nil configure: %+v", d)
	}
}

// Without matchImages the source asks the helper about every image; the
// configuration layer restricts it when the operator set patterns.
func TestSourceWithoutMatchImages(t *testing.T) {
	f := &fake{get: map[string]reply{"r.io": {out: `{"ServerURL":"r.io","Username":"u","Secret":"s"}`}}}
	src := &Source{Helper: &Helper{Name: "fake", Program: f.program}}
	res, err := src.Lookup(context.Background(), "r.io/app")
	if err != nil || len(res.Credentials) != 1 || res.Credentials[0].Key != "r.io" {
		t.Errorf("%+v %v", res, err)
	}
	keys, err := src.Keys()
	if err != nil || len(keys) != 1 || keys[0] != "r.io" {
		t.Errorf("keys %v %v", keys, err)
	}
}
