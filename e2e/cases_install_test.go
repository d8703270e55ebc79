//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The install cases run `node-credential-provider install` and `uninstall`
// against the local kubelet, started the way a systemd unit starts it: its
// provider flags come from an environment file (KUBELET_EXTRA_ARGS), read
// anew on every restart, and the restart command asks the harness to stop
// the kubelet and start it again.
func init() { Cases = append(Cases, installCases...) }

var installCases = []Case{
	{"install-into-single-file-keeps-other-provider", caseInstallKeepsOther(false)},
	{"install-into-drop-in-directory-keeps-other-provider", caseInstallKeepsOther(true)},
	{"install-unhealthy-kubelet-restores-every-file", caseInstallRollback(true)},
	{"install-failing-restart-command-restores-every-file", caseInstallRollback(false)},
	{"install-print-on-fresh-node-shows-the-exact-change", caseInstallPrint},
}

// otherProvider is the provider that the node had before us: a stand-in
// plugin that answers for the same registry reached as 127.0.0.1:PORT (to
// the kubelet and containerd another registry) with a user of its own.
const otherProvider = "other-registry-provider"

// unitKubelet runs the local kubelet with its provider flags taken from an
// environment file, as a kubeadm or distribution unit does.
type unitKubelet struct {
	n         *KubeletNode
	dir       string // everything of this case's node layout
	flagsFile string
	stateDir  string
	binDir    string
	restart   string // the restart command for install
	restarts  atomic.Int32
	// breakStarts is how many starts get a flag the kubelet refuses, so
	// that it exits at once and never becomes healthy.
	breakStarts atomic.Int32
	mu          sync.Mutex
}

func newUnitKubelet(t *testing.T, c Cluster, extraArgs string) *unitKubelet {
	t.Helper()
	n := local.node
	if n == nil || Cluster(n) != c {
		t.Skipf("the install cases restart the local kubelet from a flag file; %T has no such kubelet", c)
	}
	u := &unitKubelet{n: n, dir: filepath.Join(n.dir, "install-"+sanitize(t.Name()))}
	u.flagsFile = filepath.Join(u.dir, "etc-default-kubelet")
	u.stateDir = filepath.Join(u.dir, "state")
	u.binDir = filepath.Join(u.dir, "provider-bin")
	if err := os.MkdirAll(u.binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(u.flagsFile, []byte(`KUBELET_EXTRA_ARGS="`+extraArgs+`"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/restart" {
			http.NotFound(w, r)
			return
		}
		u.restarts.Add(1)
		if err := u.start(false); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "restarted")
	})}
	go srv.Serve(ln)
	u.restart = fmt.Sprintf("curl -fsS -X POST http://%s/restart", ln.Addr())
	t.Cleanup(func() {
		srv.Close()
		// Back to the harness's own flags for the cases after this one.
		if err := n.restart(n.providerFlag); err != nil {
			t.Errorf("restarting the kubelet as before: %v", err)
		}
	})
	return u
}

// start (re)starts the kubelet with the flags the flag file holds now, as
// systemd expands $KUBELET_EXTRA_ARGS: split at white space. Like
// `systemctl restart`, it returns once the new kubelet is started, without
// waiting for it to be healthy, unless wait.
func (u *unitKubelet) start(wait bool) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	out, err := exec.Command("/bin/sh", "-c", `. "$1" && printf '%s\n' $KUBELET_EXTRA_ARGS`, "sh", u.flagsFile).Output()
	if err != nil {
		return fmt.Errorf("reading %s: %w", u.flagsFile, err)
	}
	args := strings.Fields(string(out))
	if u.breakStarts.Load() > 0 {
		u.breakStarts.Add(-1)
		args = append(args, "--e2e-flag-the-kubelet-refuses")
	}
	return u.n.start(args, wait)
}

func (u *unitKubelet) healthz() string {
	return fmt.Sprintf("http://127.0.0.1:%d/healthz", u.n.healthzPort)
}

// run runs the plugin binary with args as root on the node.
func (u *unitKubelet) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, u.n.plugin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s (%.1fs):\n%s", filepath.Base(u.n.plugin), strings.Join(args, " "), time.Since(start).Seconds(), out.String())
	return out.String(), err
}

// installArgs are the flags every install and uninstall here gets.
func (u *unitKubelet) installArgs(cmd string, extra ...string) []string {
	return append([]string{cmd, "--flags-file", u.flagsFile, "--state-dir", u.stateDir}, extra...)
}

// setUpOther puts the other provider on the node, with a user of its own
// on the registry, and returns an image only it can pull.
func setUpOther(t *testing.T, c Cluster, u *unitKubelet) (matchImage string, image func(hint string) string) {
	t.Helper()
	reg := c.Registry()
	host := "127.0.0.1:" + reg.Host()[strings.LastIndex(reg.Host(), ":")+1:]
	if err := local.cd.TrustRegistry(host, local.node.reg.CAFile); err != nil {
		t.Fatal(err)
	}
	const user = "other-provider-user"
	password := "other-" + reg.Password()
	reg.SetUser(t, user, password)
	response := fmt.Sprintf(`{"kind":"CredentialProviderResponse","apiVersion":%q,"cacheKeyType":"Registry","cacheDuration":"0s","auth":{%q:{"username":%q,"password":%q}}}`,
		CredentialProviderV1, host, user, password)
	script := "#!/bin/sh\n# Stand-in for another registry's credential provider.\ncat >/dev/null\nprintf '%s\\n' '" + response + "'\n"
	if err := os.WriteFile(filepath.Join(u.binDir, otherProvider), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return host, func(hint string) string {
		return host + strings.TrimPrefix(reg.FreshImage(t, hint), reg.Host())
	}
}

func otherEntry(host string) CredentialProvider {
	return CredentialProvider{Name: otherProvider, MatchImages: []string{host}, DefaultCacheDuration: duration("5m"), APIVersion: CredentialProviderV1}
}

// layout writes the node's provider config holding the other provider, a
// file or a drop-in directory, and returns the flag value.
// startBesideOther starts a unit kubelet whose flag file names a provider
// config pc (a drop-in directory when dir) that holds only the other
// provider, as a node looks before install. otherImage names the other
// registry's images.
func startBesideOther(t *testing.T, c Cluster, dir bool) (u *unitKubelet, pc string, otherImage func(hint string) string) {
	t.Helper()
	u = newUnitKubelet(t, c, "")
	host, otherImage := setUpOther(t, c, u)
	pc = u.layout(t, host, dir)
	if err := os.WriteFile(u.flagsFile, []byte(fmt.Sprintf("KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=%s --image-credential-provider-bin-dir=%s\"\n", pc, u.binDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := u.start(true); err != nil {
		t.Fatal(err)
	}
	return u, pc, otherImage
}

func (u *unitKubelet) layout(t *testing.T, host string, dir bool) string {
	t.Helper()
	cfg, err := json.MarshalIndent(NewProviderConfig(otherEntry(host)), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(u.dir, "credential-provider-config.json")
	file := p
	if dir {
		p = filepath.Join(u.dir, "credential-providers.d")
		file = filepath.Join(p, "10-other.json")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(file, append(cfg, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// files is every file under dir, path -> mode and sha256, and every folder.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[p] = fi.Mode().String()
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%s %x", fi.Mode(), sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func requireSameFiles(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	var diffs []string
	for p, v := range want {
		if got[p] != v {
			diffs = append(diffs, fmt.Sprintf("%s: %s -> %q", p, v, got[p]))
		}
	}
	for p, v := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: added %s", p, v))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%s: files differ:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// The node has another provider; install adds ours beside it, a second
// install changes nothing, uninstall takes ours away and the other stays.
func caseInstallKeepsOther(dir bool) func(t *testing.T, c Cluster) {
	return func(t *testing.T, c Cluster) {
		reg := c.Registry()
		u, pc, otherImage := startBesideOther(t, c, dir)
		// Ours has no credential yet: its registry refuses the pull.
		before := files(t, u.dir)
		dc := c.WriteDockerConfig(t, "install", map[string]DockerAuth{reg.Host(): {Username: reg.Username(), Password: reg.Password()}})

		install := u.installArgs("install", "--match-image", reg.Host(), "--arg=--docker-config="+dc, "--restart", "--restart-command", u.restart, "--healthz-url", u.healthz())
		out, err := u.run(t, install...)
		if err != nil || !strings.Contains(out, "the kubelet is healthy") {
			t.Fatalf("install: %v", err)
		}
		if n := u.restarts.Load(); n != 1 {
			t.Errorf("%d restarts, want 1", n)
		}
		if dir && !strings.Contains(out, "created "+filepath.Join(pc, PluginName+".yaml")) {
			t.Errorf("no file of our own in %s", pc)
		}
		ours := c.RunPod(t, PodSpec{Name: "install-ours", Image: reg.FreshImage(t, "install-ours")})
		theirs := c.RunPod(t, PodSpec{Name: "install-other", Image: otherImage("install-other")})
		c.WaitPodRunning(t, ours, runTimeout)
		c.WaitPodRunning(t, theirs, runTimeout)

		installed := files(t, u.dir)
		out, err = u.run(t, install...)
		if err != nil || !strings.Contains(out, "nothing to change: already installed as asked") {
			t.Fatalf("second install: %v", err)
		}
		requireSameFiles(t, "second install", installed, files(t, u.dir))
		if n := u.restarts.Load(); n != 1 {
			t.Errorf("the second install restarted the kubelet (%d restarts)", n)
		}

		out, err = u.run(t, u.installArgs("uninstall", "--restart", "--restart-command", u.restart, "--healthz-url", u.healthz())...)
		if err != nil || !strings.Contains(out, "the kubelet is healthy") {
			t.Fatalf("uninstall: %v", err)
		}
		// Nothing of ours is left: every file is as before install, byte
		// for byte, and the other provider still works while ours is gone.
		requireSameFiles(t, "after uninstall", before, files(t, u.dir))
		theirs = c.RunPod(t, PodSpec{Name: "uninstall-other", Image: otherImage("uninstall-other")})
		c.WaitPodRunning(t, theirs, runTimeout)
		gone := c.RunPod(t, PodSpec{Name: "uninstall-ours", Image: reg.FreshImage(t, "uninstall-ours")})
		requireUnauthorized(t, c.WaitPullFailed(t, gone, failTimeout))
	}
}

// A restart that fails, or a kubelet that does not become healthy, puts
// every file back byte for byte; the kubelet runs as before.
func caseInstallRollback(unhealthy bool) func(t *testing.T, c Cluster) {
	return func(t *testing.T, c Cluster) {
		reg := c.Registry()
		u, _, otherImage := startBesideOther(t, c, false)
		before := files(t, u.dir)
		dc := c.WriteDockerConfig(t, "rollback", map[string]DockerAuth{reg.Host(): {Username: reg.Username(), Password: reg.Password()}})
		restart, want := u.restart, "did not become healthy"
		if unhealthy {
			u.breakStarts.Store(1)
		} else {
			// Fails the first time, before it restarts anything.
			marker := filepath.Join(t.TempDir(), "restart-failed-once")
			restart = fmt.Sprintf("if [ ! -e %[1]s ]; then touch %[1]s; echo 'restart: unit kubelet.service is masked' >&2; exit 1; fi; %[2]s", marker, u.restart)
			want = "failed: exit status 1"
		}
		out, err := u.run(t, u.installArgs("install", "--match-image", reg.Host(), "--arg=--docker-config="+dc, "--restart", "--restart-command", restart,
			"--healthz-url", u.healthz(), "--restart-timeout", "20s")...)
		if err == nil {
			t.Fatalf("install succeeded")
		}
		if !strings.Contains(out, want) || !strings.Contains(out, "every file was restored and the kubelet is healthy again") {
			t.Fatalf("install output does not say %q and that every file was restored", want)
		}
		after := files(t, u.dir)
		// The backups stay in the state folder for the operator; nothing
		// else of ours does.
		for p := range after {
			if p == u.stateDir || strings.HasPrefix(p, u.stateDir+"/") {
				delete(after, p)
			}
		}
		requireSameFiles(t, "after the rollback", before, after)
		if _, err := os.Stat(filepath.Join(u.stateDir, "state.json")); !os.IsNotExist(err) {
			t.Errorf("state file after the rollback: %v", err)
		}
		if unhealthy && !strings.Contains(c.KubeletLog(t), "e2e-flag-the-kubelet-refuses") {
			t.Errorf("the kubelet never ran with the flag that kept it unhealthy")
		}
		pod := c.RunPod(t, PodSpec{Name: "rollback-other", Image: otherImage("rollback-other")})
		c.WaitPodRunning(t, pod, runTimeout)
	}
}

// On a node whose kubelet has no provider flags, --print shows exactly the
// change that install then makes.
func caseInstallPrint(t *testing.T, c Cluster) {
	reg := c.Registry()
	u := newUnitKubelet(t, c, "")
	if err := u.start(true); err != nil {
		t.Fatal(err)
	}
	dc := c.WriteDockerConfig(t, "print", map[string]DockerAuth{reg.Host(): {Username: reg.Username(), Password: reg.Password()}})
	pc := filepath.Join(u.dir, "kubernetes", "credential-provider-config.yaml")
	args := u.installArgs("install", "--match-image", reg.Host(), "--arg=--docker-config="+dc, "--provider-config", pc, "--bin-dir", u.binDir)
	before := files(t, u.dir)
	printed, err := u.run(t, append(args, "--print")...)
	if err != nil {
		t.Fatal(err)
	}
	requireSameFiles(t, "--print", before, files(t, u.dir))
	flags := fmt.Sprintf("--image-credential-provider-config=%s --image-credential-provider-bin-dir=%s", pc, u.binDir)
	entry := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
- apiVersion: credentialprovider.kubelet.k8s.io/v1
  args:
  - --docker-config=%s
  - --kubelet-root-dir=%s
  defaultCacheDuration: 1m
  env:
  - name: GOMAXPROCS
    value: "1"
  matchImages:
  - %s
  name: node-credential-provider
`, dc, u.n.rootDir, reg.Host())
	plugin, err := os.ReadFile(u.n.plugin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("--- a%[1]s\n+++ b%[1]s\n@@ -1 +1 @@\n-KUBELET_EXTRA_ARGS=\"\"\n+KUBELET_EXTRA_ARGS=\"%[2]s\"\n", u.flagsFile, flags),
		fmt.Sprintf("--- /dev/null\n+++ b%s\n@@ -0,0 +1,14 @@\n%s", pc, "+"+strings.ReplaceAll(strings.TrimSuffix(entry, "\n"), "\n", "\n+")+"\n"),
		fmt.Sprintf("binary %s added: %d bytes, sha256 %x, mode 0755\n", filepath.Join(u.binDir, PluginName), len(plugin), sha256.Sum256(plugin)),
		fmt.Sprintf("--- /dev/null\n+++ b%s\n", filepath.Join(u.stateDir, "state.json")),
		// The flag file's first edit keeps a copy for uninstall.
		fmt.Sprintf("--- /dev/null\n+++ b%s\n@@ -0,0 +1 @@\n+KUBELET_EXTRA_ARGS=\"\"\n", filepath.Join(u.stateDir, "original", strings.ReplaceAll(strings.TrimPrefix(u.flagsFile, "/"), "/", "_"))),
		"# --print: 5 file(s) would change; nothing written\n",
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("--print does not show\n%s", want)
		}
	}
	out, err := u.run(t, append(args, "--restart", "--restart-command", u.restart, "--healthz-url", u.healthz())...)
	if err != nil {
		t.Fatal(err)
	}
	// What was printed is what was written.
	for path, content := range printedFiles(printed) {
		data, err := os.ReadFile(path)
		if err != nil || string(data) != content {
			t.Errorf("%s holds\n%s\nbut --print showed\n%s", path, data, content)
		}
	}
	if !strings.Contains(out, "the kubelet is healthy") {
		t.Fatal("install did not restart the kubelet")
	}
	pod := c.RunPod(t, PodSpec{Name: "print-ours", Image: reg.FreshImage(t, "print-ours")})
	c.WaitPodRunning(t, pod, runTimeout)
}

// printedFiles reads the new side of each text file in a unified diff
// whose hunks cover the whole file (small files, as here).
func printedFiles(diff string) map[string]string {
	out := map[string]string{}
	var cur string
	var b strings.Builder
	flush := func() {
		if cur != "" {
			out[cur] = b.String()
		}
		cur = ""
		b.Reset()
	}
	for _, l := range strings.SplitAfter(diff, "\n") {
		switch {
		case strings.HasPrefix(l, "+++ b"):
			flush()
			cur = strings.TrimSuffix(strings.TrimPrefix(l, "+++ b"), "\n")
		case strings.HasPrefix(l, "binary "), strings.HasPrefix(l, "--- "), strings.HasPrefix(l, "# "):
			if strings.HasPrefix(l, "binary ") {
				cur = ""
			}
		case cur != "" && (strings.HasPrefix(l, "+") || strings.HasPrefix(l, " ")):
			b.WriteString(l[1:])
		}
	}
	flush()
	return out
}
