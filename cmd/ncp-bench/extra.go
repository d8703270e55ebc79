package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// helperEnv is a throwaway pass store: gpg home and password store.
type helperEnv struct {
	home, gnupg, store string
	name               string // helper name: "pass", or "bench" (a stand-in script)
	real               bool
}

func (h *helperEnv) env() []string {
	return []string{"GNUPGHOME=" + h.gnupg, "PASSWORD_STORE_DIR=" + h.store, "HOME=" + h.home}
}

const (
	helperRegistry = "helper.example.com"
	helperUser     = "bench-user"
	helperSecret   = "bench-secret"
)

var helper *helperEnv

// setupHelper stores one credential in Debian's docker-credential-pass when
// it is installed (scripts/install-test-deps.sh), or else in a stand-in
// shell-script helper, and says which in the report.
func setupHelper(work string) (*helperEnv, error) {
	h := &helperEnv{}
	var err error
	// gpg-agent sockets need a short path.
	if h.home, err = os.MkdirTemp("/tmp", "ncpb"); err != nil {
		return nil, err
	}
	h.gnupg, h.store = filepath.Join(h.home, "g"), filepath.Join(h.home, "s")
	if err := os.Mkdir(h.gnupg, 0o700); err != nil {
		return nil, err
	}
	have := true
	for _, b := range []string{"docker-credential-pass", "pass", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(b); err != nil {
			have = false
		}
	}
	if have {
		h.name, h.real = "pass", true
		steps := [][]string{
			{"gpg", "--batch", "--passphrase", "", "--quick-gen-key", "ncp-bench@example.invalid", "default", "default", "never"},
			{"pass", "init", "ncp-bench@example.invalid"},
		}
		for _, s := range steps {
			if err := h.run("", s...); err != nil {
				return nil, err
			}
		}
		return h, h.run(fmt.Sprintf(`{"ServerURL":%q,"Username":%q,"Secret":%q}`, helperRegistry, helperUser, helperSecret), "docker-credential-pass", "store")
	}
	h.name = "bench"
	script := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in get) read s; sleep 0.02; printf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}' \"$s\";; list) echo '{}';; esac\n", helperUser, helperSecret)
	return h, os.WriteFile(filepath.Join(work, "docker-credential-bench"), []byte(script), 0o755)
}

func (h *helperEnv) run(stdin string, args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), h.env()...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (h *helperEnv) cleanup() {
	if h == nil {
		return
	}
	cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
	cmd.Env = append(os.Environ(), h.env()...)
	_ = cmd.Run()
	os.RemoveAll(h.home)
}

// helperConfig writes our config for a helper-backed registry, with the
// cache in work. Entries live an hour: the loop, after a cold build of the
// peer, can take longer than the default ten minutes.
func helperConfig(work string, h *helperEnv, dockerConfig string) (string, error) {
	cfg := fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {dir: %s}
helpers:
  - name: %s
    timeout: 30s
    cacheTTL: 1h
    env: {GNUPGHOME: %s, PASSWORD_STORE_DIR: %s, HOME: %s}
sources:
  - dockerConfig: {paths: [%s]}
`, filepath.Join(work, "cache"), h.name, h.gnupg, h.store, h.home, dockerConfig)
	p := filepath.Join(work, "ncp-"+h.name+".yaml")
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

// countingHelper puts docker-credential-NAME in dir: it logs each call to
// the returned file, then runs the real helper.
func countingHelper(dir, name string) (calls string, err error) {
	real, err := exec.LookPath("docker-credential-" + helper.name)
	if err != nil {
		return "", err
	}
	calls = filepath.Join(dir, name+"-calls")
	wrapper := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> %q\nexec %q \"$@\"\n", calls, real)
	return calls, os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(wrapper), 0o755)
}

// countCalls is how many calls a countingHelper logged.
func countCalls(calls string) int {
	b, _ := os.ReadFile(calls)
	return strings.Count(string(b), "\n")
}

func helperRequest(image string) string {
	return `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + image + `"}` + "\n"
}

func extraScenarios(root, work, ours string) []*scenario {
	h, err := setupHelper(work)
	onFail = append(onFail, h.cleanup) // h may be nil; cleanup allows it
	if err != nil {
		fail(fmt.Errorf("setting up the helper: %w", err))
	}
	helper = h
	os.Setenv("PATH", work+string(os.PathListSeparator)+os.Getenv("PATH"))
	// The cache row asks the helper through a counting wrapper (it is never
	// run on a hit, so it costs the row nothing), so that the report can
	// show that the row was served from the cache; the --no-cache row asks
	// the helper itself.
	if hitCalls, err = countingHelper(work, "benchhit"); err != nil {
		fail(err)
	}
	configFor := func(name string) string {
		dockerCfg := filepath.Join(work, name+"-config.json")
		if err := os.WriteFile(dockerCfg, []byte(fmt.Sprintf(`{"auths":{%q:{}},"credsStore":%q}`, helperRegistry, name)), 0o600); err != nil {
			fail(err)
		}
		hn := *h
		hn.name = name
		p, err := helperConfig(work, &hn, dockerCfg)
		if err != nil {
			fail(err)
		}
		return p
	}
	cached, uncached := configFor("benchhit"), configFor(h.name)
	want := fmt.Sprintf(`%q:{"username":%q,"password":%q}`, helperRegistry, helperUser, helperSecret)
	kind := "Debian docker-credential-pass"
	if !h.real {
		kind = "stand-in shell helper, pass not installed"
	}
	hit := &scenario{name: "ours: a helper's answer from our cache (" + kind + ")", bin: ours, args: []string{"--config", cached}, env: pluginEnv, stdin: helperRequest(helperRegistry + "/app"), expect: want, target: 1.3}
	// Warm the cache once.
	if _, _, out, err := timeOne(hit); err != nil || !strings.Contains(out, want) {
		fail(fmt.Errorf("warming the cache: %v %s", err, out))
	}
	hitCallsWarm = countCalls(hitCalls)
	direct := &scenario{name: "reference: docker-credential-" + h.name + " get alone", bin: "docker-credential-" + h.name, args: []string{"get"}, env: h.env(), stdin: helperRegistry, expect: helperUser}
	miss := &scenario{name: "ours: --no-cache, docker-credential-" + h.name + " on every request", bin: ours, args: []string{"--config", uncached, "--no-cache"}, env: pluginEnv, stdin: helperRequest(helperRegistry + "/app"), expect: want}
	return []*scenario{hit, direct, miss}
}

// The cache row's counting helper, and its count after the warm-up.
var (
	hitCalls     string
	hitCallsWarm int
)

// extraReports are the reports after the loop, and how many of their
// targets they missed.
func extraReports(root, work, ours string) ([]string, int) {
	defer helper.cleanup()
	defer exec.Command(ours, "cache", "purge", "--all", "--cache-dir", filepath.Join(work, "cache")).Run()
	missed := 0
	n := countCalls(hitCalls) - hitCallsWarm
	met := "met"
	if n != 0 {
		met, missed = "NOT met: the row timed helper calls, not cache hits", 1
	}
	cache := fmt.Sprintf("cache row: the helper was asked %d time(s) after the warm-up (target: 0, every run a cache hit: %s)", n, met)
	return []string{cache, burstReport(work, ours), exportReport(work, ours)}, missed
}

// burstReport runs 64 plugin processes at once, for 64 distinct images on
// one helper-backed registry, through a wrapper that counts helper calls.
func burstReport(work, ours string) string {
	const n = 64
	dir := filepath.Join(work, "burst")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "burst: " + err.Error()
	}
	calls, err := countingHelper(dir, "counted")
	if err != nil {
		return "burst: " + err.Error()
	}
	const registry = "burst.example.com"
	// The stand-in helper answers any server; pass needs the credential stored.
	if helper.real {
		if err := helper.run(fmt.Sprintf(`{"ServerURL":%q,"Username":%q,"Secret":%q}`, registry, helperUser, helperSecret), "docker-credential-pass", "store"); err != nil {
			return "burst: " + err.Error()
		}
	}
	dockerCfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(dockerCfg, []byte(fmt.Sprintf(`{"auths":{%q:{}},"credsStore":"counted"}`, registry)), 0o600); err != nil {
		return "burst: " + err.Error()
	}
	h := *helper
	h.name = "counted"
	cfg, err := helperConfig(dir, &h, dockerCfg)
	if err != nil {
		return "burst: " + err.Error()
	}
	defer exec.Command(ours, "cache", "purge", "--all", "--cache-dir", filepath.Join(dir, "cache")).Run()
	want := fmt.Sprintf(`%q:{"username":%q,"password":%q}`, registry, helperUser, helperSecret)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(ours, "--config", cfg)
			cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			cmd.Stdin = strings.NewReader(helperRequest(fmt.Sprintf("%s/img-%02d", registry, i)))
			out, err := cmd.Output()
			if err != nil || !bytes.Contains(out, []byte(want)) {
				mu.Lock()
				wrong++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)
	count := countCalls(calls)
	verdict := "met"
	if count != 1 || wrong != 0 {
		verdict = "NOT met"
	}
	return fmt.Sprintf("burst: %d concurrent plugin processes, %d distinct images on one helper-backed registry (%s): %d wrong answers, %d helper call(s), %s total wall time (target: every answer correct, exactly one helper call: %s)",
		n, n, helper.name, wrong, count, wall.Round(time.Millisecond), verdict)
}

// exportReport times one export-secret for 100 namespaces and 3 registries
// against one kubectl create secret docker-registry --dry-run=client.
func exportReport(work, ours string) string {
	cfg := filepath.Join(work, "export-config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths":{"a.example.com":{"username":"a","password":"pa"},"b.example.com:5443":{"username":"b","password":"pb"},"https://index.docker.io/v1/":{"username":"h","password":"ph"}}}`), 0o600); err != nil {
		return "export: " + err.Error()
	}
	args := []string{"export-secret", "--name", "regcred", "--docker-config", cfg, "--no-cache",
		"--registry", "a.example.com", "--registry", "b.example.com:5443", "--registry", "https://index.docker.io/v1/"}
	for i := 0; i < 100; i++ {
		args = append(args, "--namespace", fmt.Sprintf("ns-%03d", i))
	}
	const rounds = 20
	var ours100, kubectl1 []time.Duration
	kubectl, kerr := exec.LookPath("kubectl")
	for i := 0; i < rounds; i++ {
		s := time.Now()
		out, err := exec.Command(ours, args...).Output()
		if err != nil || bytes.Count(out, []byte("kind: Secret")) != 100 {
			return fmt.Sprintf("export: export-secret failed: %v", err)
		}
		ours100 = append(ours100, time.Since(s))
		if kerr == nil {
			s = time.Now()
			cmd := exec.Command(kubectl, "create", "secret", "docker-registry", "regcred", "--namespace", "ns-000",
				"--docker-server", "a.example.com", "--docker-username", "a", "--docker-password", "pa", "--dry-run=client", "-o", "yaml")
			cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(work, "no-kubeconfig"))
			if err := cmd.Run(); err != nil {
				return fmt.Sprintf("export: kubectl failed: %v", err)
			}
			kubectl1 = append(kubectl1, time.Since(s))
		}
	}
	line := fmt.Sprintf("export: one export-secret for 100 namespaces x 3 registries: median %s", ms(medianD(ours100)))
	if kerr == nil {
		line += fmt.Sprintf("; one kubectl create secret docker-registry --dry-run=client (1 namespace, 1 registry): median %s (%d interleaved rounds)", ms(medianD(kubectl1)), rounds)
	} else {
		line += "; kubectl not found, no comparison"
	}
	return line
}
