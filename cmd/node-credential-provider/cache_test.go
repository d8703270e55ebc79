package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/cache"
)

// countingHelper writes a docker credential helper that logs each call to
// calls, takes a while (so concurrent callers overlap), and answers from
// the password in passFile.
func countingHelper(t *testing.T, dir, calls, passFile string) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
echo "$1" >> %q
case "$1" in
  get) read server; sleep 0.3; printf '{"ServerURL":"%%s","Username":"burst-user","Secret":"%%s"}' "$server" "$(cat %q)" ;;
  list) echo '{}' ;;
  *) exit 1 ;;
esac
`, calls, passFile)
	p := filepath.Join(dir, "docker-credential-counter")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

type cacheFixture struct {
	dir, calls, passFile, config string
	env                          []string
}

func newCacheFixture(t *testing.T) *cacheFixture {
	dir := t.TempDir()
	f := &cacheFixture{dir: dir, calls: filepath.Join(dir, "calls"), passFile: filepath.Join(dir, "password")}
	if err := os.WriteFile(f.passFile, []byte("pw-one"), 0o600); err != nil {
		t.Fatal(err)
	}
	countingHelper(t, dir, f.calls, f.passFile)
	dockerCfg := writeFile(t, dir, "config.json", `{"auths":{"burst.example.com":{}},"credsStore":"counter"}`, 0o600)
	f.config = writeFile(t, dir, "ncp.yaml", fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {dir: %s}
helpers:
  - name: counter
    watch: [%s]
sources:
  - dockerConfig: {paths: [%s]}
`, filepath.Join(dir, "cache"), f.passFile, dockerCfg), 0o600)
	f.env = []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	// The entries live in root's user keyring: leave nothing behind.
	t.Cleanup(func() { dropCacheKeyring(t, filepath.Join(dir, "cache")) })
	return f
}

func (f *cacheFixture) callCount(t *testing.T) int {
	b, err := os.ReadFile(f.calls)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// burst runs n plugin processes at once for n distinct images on one
// registry and returns their outputs.
func (f *cacheFixture) burst(t *testing.T, n int, extra ...string) []result {
	t.Helper()
	out := make([]result, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, _, err := execBinary(f.env, request(fmt.Sprintf("burst.example.com/img-%02d", i)), append([]string{"--config", f.config}, extra...)...)
			if err != nil {
				r.stderr = err.Error()
			}
			out[i] = r
		}(i)
	}
	wg.Wait()
	return out
}

// The kubelet runs one process per image: a burst of distinct images on one
// helper-backed registry costs exactly one helper call, and every answer is
// right.
func TestBurstCostsOneHelperCall(t *testing.T) {
	f := newCacheFixture(t)
	const n = 24
	for i, r := range f.burst(t, n) {
		if r.code != 0 || !strings.Contains(r.stdout, `"auth":{"burst.example.com":{"username":"burst-user","password":"pw-one"}}`) {
			t.Errorf("process %d: %+v", i, r)
		}
	}
	if got := f.callCount(t); got != 1 {
		t.Errorf("helper called %d times for a burst of %d, want 1", got, n)
	}
	// The count can fail: without the cache every process asks the helper.
	g := newCacheFixture(t)
	g.burst(t, 4, "--no-cache")
	if got := g.callCount(t); got != 4 {
		t.Errorf("--no-cache: helper called %d times, want 4", got)
	}
}

// A rotated credential is served on the next request, not after the TTL:
// the helper's watched store changed, so the cached answer is not used.
func TestRotationIsPickedUp(t *testing.T) {
	f := newCacheFixture(t)
	r := f.burst(t, 1)[0]
	if !strings.Contains(r.stdout, `"password":"pw-one"`) {
		t.Fatalf("first: %+v", r)
	}
	r = f.burst(t, 1)[0]
	if !strings.Contains(r.stdout, `"password":"pw-one"`) || f.callCount(t) != 1 {
		t.Fatalf("second request should be a cache hit: %+v, calls %d", r, f.callCount(t))
	}
	if err := os.WriteFile(f.passFile, []byte("pw-two-rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = f.burst(t, 1)[0]
	if !strings.Contains(r.stdout, `"password":"pw-two-rotated"`) || f.callCount(t) != 2 {
		t.Errorf("after rotation: %+v, calls %d", r, f.callCount(t))
	}
	// cache list shows the entry, never the secret.
	cmd := exec.Command(binary, "cache", "list", "--config", f.config)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "helper counter") || !strings.Contains(string(out), "get burst.example.com") || strings.Contains(string(out), "pw-two") {
		t.Errorf("cache list: %v\n%s", err, out)
	}
}

// An unusable cache location degrades to no cache with one warning, and the
// answer still comes.
func TestUnusableCacheDegrades(t *testing.T) {
	f := newCacheFixture(t)
	notDir := writeFile(t, f.dir, "not-a-dir", "x", 0o600)
	r := f.burst(t, 1, "--cache-dir", filepath.Join(notDir, "cache"))[0]
	if r.code != 0 || !strings.Contains(r.stdout, `"password":"pw-one"`) {
		t.Fatalf("%+v", r)
	}
	if strings.Count(r.stderr, "node-local cache") != 1 || strings.Contains(r.stderr, "pw-one") {
		t.Errorf("want one warning and no secret, stderr: %q", r.stderr)
	}
}

// A helper named directly in the config answers for the images its
// matchImages select, and for no other.
func TestCredentialHelperSource(t *testing.T) {
	f := newCacheFixture(t)
	cfg := writeFile(t, f.dir, "helper-source.yaml", fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {disabled: true}
sources:
  - name: counter-direct
    credentialHelper: {helper: counter}
    matchImages: ["burst.example.com"]
`), 0o600)
	run := func(image string) result { return runBinaryOnce(t, f.env, request(image), "--config", cfg) }
	if r := run("burst.example.com/app"); r.code != 0 || !strings.Contains(r.stdout, `"auth":{"burst.example.com":{"username":"burst-user","password":"pw-one"}}`) {
		t.Errorf("matching image: %+v", r)
	}
	calls := f.callCount(t)
	if r := run("other.example.com/app"); r.code != 0 || !strings.Contains(r.stdout, `"auth":{}`) || f.callCount(t) != calls {
		t.Errorf("other image: %+v (helper calls %d -> %d)", r, calls, f.callCount(t))
	}
}

// dropCacheKeyring destroys the keyring of the cache in dir, entries and
// all, as a cleanup: tests leave nothing in the kernel.
func dropCacheKeyring(t *testing.T, dir string) {
	c, err := cache.Open(cache.Options{Dir: dir})
	if err == nil {
		err = c.Destroy()
	}
	if err != nil {
		t.Errorf("removing the cache keyring of %s: %v", dir, err)
	}
}
