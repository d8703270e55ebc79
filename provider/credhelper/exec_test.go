package credhelper

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// script installs a fake docker-credential-NAME shell script in a PATH
// directory of its own.
func script(t *testing.T, name, body string) *Helper {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to run fake helpers")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "docker-credential-"+name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return &Helper{Name: name}
}

func TestExecFoundWithControlledEnvironment(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "kubelet-only")
	t.Setenv("HTTPS_PROXY", "http://proxy:3128")
	h := script(t, "env", `read url
[ "$1" = get ] || exit 9
printf '{"Username":"%s|%s|%s","Secret":"%s"}' "$url" "${AWS_SECRET_ACCESS_KEY:-unset}" "$HTTPS_PROXY" "$STORE_DIR"
`)
	h.Env = map[string]string{"STORE_DIR": "/srv/store"}
	user, pass, found, err := h.Get(context.Background(), "reg.io")
	if err != nil || !found {
		t.Fatalf("Get = %v %v", found, err)
	}
	if user != "reg.io|unset|http://proxy:3128" || pass != "/srv/store" {
		t.Errorf("got %q %q", user, pass)
	}
}

func TestEnvironment(t *testing.T) {
	env := map[string]string{"PATH": "/usr/bin", "HOME": "/root", "KUBECONFIG": "/x", "http_proxy": "p"}
	got := environment(func(k string) string { return env[k] }, map[string]string{"HOME": "/var/lib/helper", "GNUPGHOME": "/g"})
	want := []string{"PATH=/usr/bin", "http_proxy=p", "GNUPGHOME=/g", "HOME=/var/lib/helper"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment = %q; want %q", got, want)
	}
}

func TestExecFailures(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"notfound", "echo 'credentials not found in native keychain'; exit 1", ""},
		{"stderr", "echo 'boom: no dbus' >&2; exit 3", `docker-credential-stderr get: exit status 3: "boom: no dbus"`},
		{"stdout", "echo 'bad store'; echo 'stack' >&2; exit 1", `docker-credential-stdout get: exit status 1: "bad store"`},
		{"killed", "kill -9 $$", "docker-credential-killed get: signal: killed"},
		{"huge", "i=0; while [ $i -lt 40 ]; do head -c 65536 /dev/zero | tr '\\0' s; i=$((i+1)); done", "docker-credential-huge get: printed more than 1024 KiB"},
		{"garbage", "echo " + secret, "docker-credential-garbage get: output is not what the helper protocol expects: not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := script(t, tc.name, tc.body)
			_, _, found, err := h.Get(context.Background(), "reg.io")
			if found {
				t.Fatal("found")
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error = %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks: %v", err)
			}
		})
	}
}

func TestExecMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	h := &Helper{Name: "surely-not-installed"}
	_, _, _, err := h.Get(context.Background(), "reg.io")
	if err == nil || err.Error() != "docker-credential-surely-not-installed get: docker-credential-surely-not-installed not found in PATH" {
		t.Errorf("error = %v", err)
	}
}

// A hanging helper costs at most its timeout, even when it started children
// that hold its stdout, inside its process group or outside (setsid).
func TestExecHangIsBounded(t *testing.T) {
	body := `(sleep 30; echo late) &
if command -v setsid >/dev/null; then setsid sleep 30 & fi
sleep 30
`
	h := script(t, "hang", body)
	h.Timeout = time.Second
	start := time.Now()
	_, _, _, err := h.Get(context.Background(), "reg.io")
	elapsed := time.Since(start)
	if err == nil || err.Error() != "docker-credential-hang get: timed out after 1s" {
		t.Errorf("error = %v", err)
	}
	// Expected: the timeout plus WaitDelay (1.5s). The bound is loose so a
	// loaded machine does not fail it, yet far below the 30s the helper and
	// its children would hold the pipes.
	if elapsed > h.Timeout+8*time.Second {
		t.Errorf("took %s with a %s timeout", elapsed, h.Timeout)
	}
}

// A helper that answers and exits, leaving a daemon holding its stdout,
// answers after at most waitDelay.
func TestExecLeftoverChild(t *testing.T) {
	h := script(t, "daemon", `(sleep 30) &
printf '{"Username":"u","Secret":"p"}'
`)
	start := time.Now()
	user, _, found, err := h.Get(context.Background(), "reg.io")
	if err != nil || !found || user != "u" {
		t.Errorf("Get = %q %v %v", user, found, err)
	}
	if elapsed := time.Since(start); elapsed > waitDelay+8*time.Second { // loose: loaded CI machines; the child holds stdout for 30s
		t.Errorf("took %s", elapsed)
	}
}
