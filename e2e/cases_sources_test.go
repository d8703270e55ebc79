//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cases for the sources beyond docker config files.

// passStore makes a throwaway gpg home (short path: gpg-agent's socket
// must fit) with a passphrase-less key and a pass store on the node, and
// returns the environment docker-credential-pass needs.
func passStore(t *testing.T, c Cluster) map[string]string {
	t.Helper()
	for _, bin := range []string{"docker-credential-pass", "pass", "gpg", "gpgconf"} {
		if _, err := c.RunOnNode(t, nil, nil, "sh", "-c", "command -v "+bin); err != nil {
			t.Skipf("%s is not on the node (Debian: golang-docker-credential-helpers, pass, gnupg): %v", bin, err)
		}
	}
	out, err := c.RunOnNode(t, nil, nil, "mktemp", "-d", "/tmp/ncpg.XXXXXX")
	if err != nil {
		t.Fatal(err)
	}
	home := strings.TrimSpace(out)
	env := map[string]string{"GNUPGHOME": home + "/g", "PASSWORD_STORE_DIR": home + "/s"}
	envList := []string{"GNUPGHOME=" + env["GNUPGHOME"], "PASSWORD_STORE_DIR=" + env["PASSWORD_STORE_DIR"]}
	t.Cleanup(func() {
		_, _ = c.RunOnNode(t, envList, nil, "gpgconf", "--kill", "gpg-agent")
		_, _ = c.RunOnNode(t, nil, nil, "rm", "-rf", home)
	})
	const id = "ncp-e2e@example.invalid"
	for _, argv := range [][]string{
		{"install", "-d", "-m", "0700", env["GNUPGHOME"]},
		{"gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", id, "default", "default", "never"},
		{"pass", "init", id},
	} {
		if _, err := c.RunOnNode(t, envList, nil, argv...); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// storeInPass stores a credential for server with docker-credential-pass.
func storeInPass(t *testing.T, c Cluster, env map[string]string, server, user, secret string) {
	t.Helper()
	req := fmt.Sprintf(`{"ServerURL":%q,"Username":%q,"Secret":%q}`, server, user, secret)
	envList := []string{"GNUPGHOME=" + env["GNUPGHOME"], "PASSWORD_STORE_DIR=" + env["PASSWORD_STORE_DIR"]}
	if _, err := c.RunOnNode(t, envList, []byte(req), "docker-credential-pass", "store"); err != nil {
		t.Fatalf("docker-credential-pass store: %s", strings.ReplaceAll(err.Error(), secret, "***"))
	}
}

// helperConfig is our config with one docker config source (a file holding
// only credsStore) and how the helper runs.
func helperConfig(dockerConfig, helper string, env map[string]string, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\n%shelpers:\n  - name: %s\n    timeout: 30s\n    env:\n", extra, helper)
	for _, k := range []string{"GNUPGHOME", "PASSWORD_STORE_DIR"} {
		fmt.Fprintf(&b, "      %s: %s\n", k, env[k])
	}
	fmt.Fprintf(&b, "sources:\n  - name: docker-login-with-pass\n    dockerConfig:\n      paths: [%s]\n", dockerConfig)
	return b.String()
}

// A real credential helper: the registry's credential is in pass (stored
// with docker-credential-pass), the docker config holds only
// {"credsStore":"pass"}, as docker login leaves it: the pod runs.
func caseCredentialHelper(t *testing.T, c Cluster) {
	reg := c.Registry()
	env := passStore(t, c)
	storeInPass(t, c, env, reg.Host(), reg.Username(), reg.Password())
	dockerCfg := c.WriteFile(t, "pass/config.json", []byte(`{"credsStore":"pass"}`))
	cacheDir := filepath.Dir(c.WriteFile(t, "cache/.keep", nil))
	cfg := c.WriteFile(t, "ncp-config.yaml", []byte(helperConfig(dockerCfg, "pass", env,
		fmt.Sprintf("cache: {dir: %s}\n", cacheDir))))
	purgeCache(t, c, cfg)
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--config="+cfg))))
	pod := c.RunPod(t, PodSpec{Name: "credential-helper", Image: reg.FreshImage(t, "credential-helper")})
	c.WaitPodRunning(t, pod, runTimeout)
}

// A burst of pulls of distinct images on one helper-backed registry runs
// the helper once: the kubelet asks the plugin for every image
// (--cache-duration=0s keeps its own cache out of it), and the plugins,
// in separate processes, share one answer through our cache. A wrapper
// docker-credential-ncpcount on PATH logs each call, then runs pass.
func caseHelperBurst(t *testing.T, c Cluster) {
	reg := c.Registry()
	env := passStore(t, c)
	storeInPass(t, c, env, reg.Host(), reg.Username(), reg.Password())
	calls := c.WriteFile(t, "helper-calls.log", nil)
	wrapper := fmt.Sprintf("#!/bin/sh\n# Counts helper calls, then runs the real helper.\necho \"$1\" >>%q\nexec docker-credential-pass \"$@\"\n", calls)
	// The wrapper must be on the plugin's PATH: it goes into the provider
	// bin dir, which the provider's env puts first on PATH.
	binDir := filepath.Dir(c.InstallProvider(t, "docker-credential-ncpcount", writeTemp(t, "docker-credential-ncpcount", wrapper)))
	// What `docker login` writes with a credsStore: an empty auths entry
	// naming the server the secret is stored under, and the store.
	dockerCfg := c.WriteFile(t, "count/config.json", []byte(fmt.Sprintf(`{"auths":{%q:{}},"credsStore":"ncpcount"}`, reg.Host())))
	cacheDir := filepath.Dir(c.WriteFile(t, "cache/.keep", nil))
	cfg := c.WriteFile(t, "ncp-config.yaml", []byte(helperConfig(dockerCfg, "ncpcount", env,
		fmt.Sprintf("cache: {dir: %s, ttl: 10m}\n", cacheDir))))
	purgeCache(t, c, cfg)
	p := ourProvider(c, "--config="+cfg, "--cache-duration=0s")
	p.Env = []ExecEnvVar{{Name: "PATH", Value: binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(p)))
	var images []string
	for i := 1; i <= 4; i++ {
		images = append(images, reg.FreshImage(t, fmt.Sprintf("helper-burst-%d", i)))
	}
	var pods []Pod
	for i, img := range images {
		pods = append(pods, c.RunPod(t, PodSpec{Name: fmt.Sprintf("helper-burst-%d", i+1), Image: img}))
	}
	for _, pod := range pods {
		c.WaitPodRunning(t, pod, runTimeout)
	}
	// The auths entry says under which server URL the store holds the
	// secret, so one `get` answers; the cache makes it one for the burst.
	log := strings.Fields(string(c.ReadFile(t, calls)))
	if len(log) != 1 || log[0] != "get" {
		t.Errorf("%d pods with distinct images cost %d helper calls (%s), want exactly one get", len(pods), len(log), strings.Join(log, ", "))
	}
	t.Logf("%d pods with distinct images cost %d helper calls: %s", len(pods), len(log), strings.Join(log, ", "))
}

// purgeCache removes, when the test ends, the cache entries the plugin made
// for cfg: they live in the node's kernel keyring, not in the test folder.
func purgeCache(t *testing.T, c Cluster, cfg string) {
	t.Helper()
	plugin := c.InstallProvider(t, "ncp-cache-admin", c.PluginPath())
	t.Cleanup(func() {
		if out, err := c.RunOnNode(t, nil, nil, plugin, "cache", "purge", "--config", cfg, "--all"); err != nil {
			t.Errorf("purging the cache: %v: %s", err, out)
		}
	})
}

// writeTemp writes an executable script on the machine running the tests.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A podman auth.json with two namespaces of one registry, each with its
// own user: both pods run, and the plugin answered each image with its own
// namespace's key (the registry lets any of its users read every
// repository, so the plugin's log is the proof of which one was sent).
func casePodmanNamespaces(t *testing.T, c Cluster) {
	reg := c.Registry()
	users := map[string][2]string{
		"team-a": {"team-a-puller", "a-" + reg.Password()},
		"team-b": {"team-b-puller", "b-" + reg.Password()},
	}
	auths := map[string]DockerAuth{}
	for ns, up := range users {
		reg.SetUser(t, up[0], up[1])
		auths[reg.Host()+"/"+ns] = DockerAuth{Auth: base64.StdEncoding.EncodeToString([]byte(up[0] + ":" + up[1]))}
	}
	// A registry-wide key with a wrong password: the namespaced keys must
	// win for their images (podman's most specific key), and the wide one
	// is what any other repository gets, so that pull fails with 401.
	auths[reg.Host()] = DockerAuth{Username: "team-a-puller", Password: "wrong-" + reg.Password()}
	authFile := c.WriteDockerConfig(t, "podman", auths) // auth.json has config.json's shape
	cfg := c.WriteFile(t, "ncp-config.yaml", []byte(fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
sources:
  - name: podman
    podmanAuth: {path: %s}
`, authFile)))
	name, _, stderr := loggedPlugin(t, c, "ncp-podman")
	p := ourProvider(c, "--config="+cfg, "-v=2")
	p.Name = name
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(p)))
	var pods []Pod
	for _, ns := range []string{"team-a", "team-b"} {
		img := reg.Image(ns + "/app")
		c.RemoveImage(t, img)
		pods = append(pods, c.RunPod(t, PodSpec{Name: "podman-" + ns, Image: img}))
	}
	other := c.RunPod(t, PodSpec{Name: "podman-other", Image: reg.FreshImage(t, "podman-other")})
	for _, pod := range pods {
		c.WaitPodRunning(t, pod, runTimeout)
	}
	requireUnauthorized(t, c.WaitPullFailed(t, other, failTimeout))
	log := string(c.ReadFile(t, stderr))
	for ns := range users {
		want := fmt.Sprintf("image %s/%s/app: 1 credentials from podman", reg.Host(), ns)
		keys := fmt.Sprintf("under keys [%s/%s]", reg.Host(), ns)
		if !logHasLine(log, want, keys) {
			t.Errorf("the plugin's log has no line with %q and %q:\n%s", want, keys, tail(log, 2000))
		}
	}
}

// logHasLine reports whether one line of log holds every part.
func logHasLine(log string, parts ...string) bool {
	for _, l := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

// Rotation through a credential helper: the registry's password changes
// and so does the pass store; the next pull uses the new one. The kubelet
// does not cache (--cache-duration=0s) and our cache must notice that the
// store changed (helpers[].watch defaults to pass's store for pass).
func caseHelperRotation(t *testing.T, c Cluster) {
	reg := c.Registry()
	const user = "helper-rotating-user"
	old, next := "old-h-"+reg.Password(), "new-h-"+reg.Password()
	reg.SetUser(t, user, old)
	env := passStore(t, c)
	storeInPass(t, c, env, reg.Host(), user, old)
	dockerCfg := c.WriteFile(t, "pass/config.json", []byte(`{"credsStore":"pass"}`))
	cacheDir := filepath.Dir(c.WriteFile(t, "cache/.keep", nil))
	cfg := c.WriteFile(t, "ncp-config.yaml", []byte(helperConfig(dockerCfg, "pass", env,
		fmt.Sprintf("cache: {dir: %s, ttl: 10m}\n", cacheDir))))
	purgeCache(t, c, cfg)
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--config="+cfg, "--cache-duration=0s"))))
	before := c.RunPod(t, PodSpec{Name: "helper-rotation-before", Image: reg.FreshImage(t, "helper-rotation-before")})
	c.WaitPodRunning(t, before, runTimeout)

	// The registry rotates; the store still holds (and the cache serves)
	// the old password: refused.
	reg.SetUser(t, user, next)
	stale := c.RunPod(t, PodSpec{Name: "helper-rotation-stale", Image: reg.FreshImage(t, "helper-rotation-stale")})
	requireUnauthorized(t, c.WaitPullFailed(t, stale, failTimeout))

	storeInPass(t, c, env, reg.Host(), user, next)
	after := c.RunPod(t, PodSpec{Name: "helper-rotation-after", Image: reg.FreshImage(t, "helper-rotation-after")})
	c.WaitPodRunning(t, after, runTimeout)
}
