package static

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	user, pass := filepath.Join(dir, "username"), filepath.Join(dir, "password")
	write(t, user, "robot\n")
	write(t, pass, "pw-1\r\n")
	s := mustNew(t, []string{"https://registry.example.com/v2/", "*.corp.example", "quay.io/team-a", "reg.example.com/v2/team"}, user, pass)
	for _, tc := range []struct {
		image      string
		key        string
		pathScoped bool
	}{
		{"registry.example.com/app", "registry.example.com", false},
		{"build.corp.example/tools/x", "*.corp.example", false},
		{"a.b.corp.example/x", "", false},
		{"quay.io/team-a/app", "quay.io/team-a", true},
		{"quay.io/team-b/app", "", true},
		{"docker.io/library/nginx", "", false},
		// Without a scheme a pattern is literal, as the kubelet's
		// matchImages: /v2/ is part of the path.
		{"reg.example.com/v2/team/app", "reg.example.com/v2/team", true},
		{"reg.example.com/team/app", "", true},
	} {
		res, err := s.Lookup(context.Background(), tc.image)
		if err != nil {
			t.Fatalf("%s: %v", tc.image, err)
		}
		var want []provider.Credential
		if tc.key != "" {
			want = []provider.Credential{{Key: tc.key, Username: "robot", Password: "pw-1"}}
		}
		if !reflect.DeepEqual(res.Credentials, want) || res.PathScoped != tc.pathScoped {
			t.Errorf("%s: %+v; want %+v pathScoped=%v", tc.image, res, want, tc.pathScoped)
		}
	}
	keys, err := s.Keys()
	if err != nil || !reflect.DeepEqual(keys, []string{"*.corp.example", "quay.io/team-a", "reg.example.com/v2/team", "registry.example.com"}) {
		t.Errorf("Keys = %q, %v", keys, err)
	}
}

// A rotated password is used on the next lookup.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "password")
	write(t, pass, "old-token\n")
	s := mustNew(t, []string{"r.io"}, "", pass)
	st := &provider.Store{Sources: []provider.Source{s}}
	if a := st.Resolve(context.Background(), "r.io/app"); len(a.Credentials) != 1 || a.Credentials[0].Password != "old-token" || a.Credentials[0].Username != "" {
		t.Fatalf("before: %+v", a)
	}
	// Rotate as a kubelet Secret mount or config management does: a new
	// file renamed over the old one.
	tmp := filepath.Join(dir, ".password.new")
	write(t, tmp, "new-token\n")
	if err := os.Rename(tmp, pass); err != nil {
		t.Fatal(err)
	}
	if a := st.Resolve(context.Background(), "r.io/app"); len(a.Credentials) != 1 || a.Credentials[0].Password != "new-token" {
		t.Errorf("after: %+v", a)
	}
}

func TestFileErrors(t *testing.T) {
	const secret = "hunter2-static"
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	write(t, big, secret+strings.Repeat("x", MaxFileSize))
	exact := filepath.Join(dir, "exact")
	write(t, exact, strings.Repeat("y", MaxFileSize))
	fifo := notRegularFile(t, dir)
	empty := filepath.Join(dir, "empty")
	write(t, empty, "\n")
	for _, tc := range []struct {
		user, pass, want string
	}{
		{"", big, big + ": larger than 64 KiB, not a credential"},
		{"", filepath.Join(dir, "missing"), filepath.Join(dir, "missing") + ": no such file or directory"},
		{"", fifo, fifo + ": not a regular file"},
		{filepath.Join(dir, "nouser"), exact, filepath.Join(dir, "nouser") + ": no such file or directory"},
		{"", dir, dir + ": not a regular file"},
	} {
		s := mustNew(t, []string{"r.io"}, tc.user, tc.pass)
		res, err := s.Lookup(context.Background(), "r.io/app")
		if err == nil || err.Error() != tc.want || len(res.Credentials) != 0 {
			t.Errorf("Lookup with %s: %+v, %v; want %q", tc.pass, res, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks: %v", err)
		}
	}
	if got, err := ReadSecretFile(exact); err != nil || len(got) != MaxFileSize {
		t.Errorf("a file of exactly MaxFileSize: %d, %v", len(got), err)
	}
	s := mustNew(t, []string{"r.io"}, empty, empty)
	if res, err := s.Lookup(context.Background(), "r.io/app"); err != nil || len(res.Credentials) != 0 {
		t.Errorf("empty files: %+v %v", res, err)
	}
}

func mustNew(t *testing.T, matchImages []string, usernameFile, passwordFile string) *Source {
	t.Helper()
	s, err := New(matchImages, usernameFile, passwordFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
