//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Faults the plugin meets on a node, each run through the real binary. Unit
// tests of more faults live beside the code: provider/credhelper
// (TestExecFailures, TestExecHangIsBounded, TestExecLeftoverChild) and cache
// (TestUnusableDir, TestDamagedEntryIsReplaced, process_test.go).

// answered reports whether r is an answer for key with exactly user and
// password.
func answered(r result, key, user, password string) bool {
	return r.code == 0 && strings.Contains(r.stdout, fmt.Sprintf(`"auth":{%q:{"username":%q,"password":%q}}`, key, user, password))
}

func runTimed(t *testing.T, env []string, stdin string, args ...string) (result, time.Duration) {
	t.Helper()
	r, d, err := execBinary(env, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r, d
}

// A helper that hangs, with children holding its pipes inside and outside
// its process group, costs its timeout once; the next source answers.
func TestFaultHangingHelperFallsThrough(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "docker-credential-hang", `#!/bin/sh
(sleep 30) &
if command -v setsid >/dev/null; then setsid sleep 5 & fi
sleep 30
`, 0o755)
	good := writeFile(t, dir, "config.json", `{"auths":{"r.io":{"username":"u","password":"p"}}}`, 0o600)
	cfg := writeFile(t, dir, "ncp.yaml", `apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {disabled: true}
helpers: [{name: hang, timeout: 1s}]
sources:
  - credentialHelper: {helper: hang}
  - dockerConfig: {paths: [`+good+`]}
`, 0o600)
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	r, d := runTimed(t, env, request("r.io/app"), "--config", cfg)
	if !answered(r, "r.io", "u", "p") || !strings.Contains(r.stdout, `"cacheDuration":"0s"`) {
		t.Errorf("%+v", r)
	}
	if !strings.Contains(r.stderr, "docker-credential-hang list: timed out after 1s") {
		t.Errorf("the timeout is not reported: %q", r.stderr)
	}
	if d > time.Second+3*time.Second {
		t.Errorf("answered after %v with a 1s helper timeout", d)
	}
}

// The cache directory deleted between two requests: the key that sealed the
// entries went with it, so the helper is asked again, quietly, and the
// directory and a new key are made again.
func TestFaultCacheDirDeletedBetweenRequests(t *testing.T) {
	f := newCacheFixture(t)
	if r := f.burst(t, 1)[0]; !answered(r, "burst.example.com", "burst-user", "pw-one") {
		t.Fatalf("first: %+v", r)
	}
	if err := os.RemoveAll(filepath.Join(f.dir, "cache")); err != nil {
		t.Fatal(err)
	}
	if r := f.burst(t, 1)[0]; !answered(r, "burst.example.com", "burst-user", "pw-one") || r.stderr != "" || f.callCount(t) != 2 {
		t.Fatalf("after the directory went: %+v, %d helper calls", r, f.callCount(t))
	}
	if r := f.burst(t, 1)[0]; !answered(r, "burst.example.com", "burst-user", "pw-one") || f.callCount(t) != 2 {
		t.Fatalf("not cached under the new key: %+v, %d helper calls", r, f.callCount(t))
	}
	// A change of the watched store needs a fetch, and so a lock file.
	if err := os.WriteFile(f.passFile, []byte("pw-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := f.burst(t, 1)[0]; !answered(r, "burst.example.com", "burst-user", "pw-two") || r.stderr != "" {
		t.Fatalf("fetch after the directory went: %+v", r)
	}
	if fi, err := os.Stat(filepath.Join(f.dir, "cache")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory not recreated owner-only: %v %v", fi, err)
	}
}

// The cache directory deleted again and again while a burst runs: every
// process answers, correctly, within the helper's time plus slack.
func TestFaultCacheDirDeletedDuringBurst(t *testing.T) {
	f := newCacheFixture(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				os.RemoveAll(filepath.Join(f.dir, "cache"))
				time.Sleep(time.Millisecond)
			}
		}
	}()
	start := time.Now()
	rs := f.burst(t, 16)
	d := time.Since(start)
	close(stop)
	wg.Wait()
	for i, r := range rs {
		if !answered(r, "burst.example.com", "burst-user", "pw-one") {
			t.Errorf("process %d: %+v", i, r)
		}
		if strings.Contains(r.stderr, "pw-one") {
			t.Errorf("process %d: secret on stderr", i)
		}
	}
	// Each helper call takes 0.3s; at worst all 16 ran one after another
	// on a loaded machine.
	if d > 16*300*time.Millisecond+10*time.Second {
		t.Errorf("the burst took %v", d)
	}
	t.Logf("16 processes in %v, %d helper calls", d.Round(time.Millisecond), f.callCount(t))
}

// A plugin process SIGKILLed while it holds a key's lock and its helper is
// running: the next process answers correctly at once (the flock died with
// its holder), and an entry cached before is still served.
func TestFaultPluginKilledWhileHelperRuns(t *testing.T) {
	dir := t.TempDir()
	started, pidFile, pass := filepath.Join(dir, "started"), filepath.Join(dir, "helper.pid"), filepath.Join(dir, "pass")
	writeFile(t, dir, "pass", "pw-kill", 0o600)
	calls := filepath.Join(dir, "calls")
	// The first get for slow.example.com hangs (its plugin is killed
	// meanwhile); later gets answer at once.
	writeFile(t, dir, "docker-credential-slow", fmt.Sprintf(`#!/bin/sh
echo "$1" >> %[1]q
case "$1" in
  get) read server
       if [ "$server" = slow.example.com ] && [ ! -e %[2]q ]; then
         echo $$ > %[3]q; : > %[2]q; sleep 30
       fi
       printf '{"ServerURL":"%%s","Username":"kill-user","Secret":"%%s"}' "$server" "$(cat %[4]q)" ;;
  list) echo '{}' ;;
esac
`, calls, started, pidFile, pass), 0o755)
	t.Cleanup(func() {
		// The orphaned helper and its sleep: its own process group, by id.
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	cacheDir := filepath.Join(dir, "cache")
	cfg := writeFile(t, dir, "ncp.yaml", fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {dir: %s}
helpers: [{name: slow, timeout: 40s}]
sources: [{credentialHelper: {helper: slow}}]
`, cacheDir), 0o600)
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	t.Cleanup(func() { dropCacheKeyring(t, cacheDir) })

	// An entry cached before the kill.
	if r, _ := runTimed(t, env, request("fast.example.com/app"), "--config", cfg); !answered(r, "fast.example.com", "kill-user", "pw-kill") {
		t.Fatalf("before: %+v", r)
	}
	before := countLines(t, calls)

	victim := exec.Command(binary, "--config", cfg)
	victim.Stdin = strings.NewReader(request("slow.example.com/app"))
	victim.Env = append(os.Environ(), env...)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			victim.Process.Kill()
			victim.Wait()
			t.Fatal("the helper never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	victim.Process.Kill() // SIGKILL: no deferred unlock, no cleanup
	victim.Wait()

	r, d := runTimed(t, env, request("slow.example.com/app"), "--config", cfg)
	if !answered(r, "slow.example.com", "kill-user", "pw-kill") {
		t.Errorf("after the kill: %+v", r)
	}
	if d > 3*time.Second {
		t.Errorf("the next process answered after %v: it waited for a dead lock holder", d)
	}
	// Nothing cached before is lost or misread.
	n := countLines(t, calls)
	if r, _ := runTimed(t, env, request("fast.example.com/other"), "--config", cfg); !answered(r, "fast.example.com", "kill-user", "pw-kill") {
		t.Errorf("cached entry after the kill: %+v", r)
	}
	if got := countLines(t, calls); got != n || before == 0 {
		t.Errorf("the entry cached before the kill was not served: helper calls %d -> %d", n, got)
	}
}

func countLines(t *testing.T, p string) int {
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// A docker config replaced by rename again and again while requests run:
// every answer is the old credential or the new one, never an error, an
// empty answer or a mix.
func TestFaultStoreReplacedWhileRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	versions := [][2]string{{"old-user", "old-pw"}, {"new-user", "new-pw-" + strings.Repeat("x", 4096)}}
	data := make([][]byte, 2)
	for i, v := range versions {
		// Padding makes each read take more than one read(2).
		data[i] = []byte(fmt.Sprintf(`{"auths":{"r.io":{"username":%q,"password":%q},"pad.example.com":{"username":"pad","password":%q}}}`,
			v[0], v[1], strings.Repeat("p", 64<<10)))
	}
	if err := os.WriteFile(path, data[0], 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	renames := 0
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tmp := filepath.Join(dir, fmt.Sprintf(".config.json.%d", i))
			if err := os.WriteFile(tmp, data[i%2], 0o600); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Error(err)
				return
			}
			renames++
		}
	}()
	const workers, each = 2, 40
	seen := make([]int, 2)
	var mu sync.Mutex
	var rg sync.WaitGroup
	for w := 0; w < workers; w++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for i := 0; i < each; i++ {
				r, d := runTimed(t, nil, request("r.io/app"), "--docker-config", path)
				ok := false
				for j, v := range versions {
					if answered(r, "r.io", v[0], v[1]) {
						mu.Lock()
						seen[j]++
						mu.Unlock()
						ok = true
					}
				}
				if !ok || r.stderr != "" || d > 5*time.Second {
					t.Errorf("answer %d after %v: code %d stderr %q stdout %.200s", i, d, r.code, r.stderr, r.stdout)
				}
			}
		}()
	}
	rg.Wait()
	close(stop)
	wg.Wait()
	t.Logf("%d answers during %d renames: %d old, %d new", workers*each, renames, seen[0], seen[1])
}
