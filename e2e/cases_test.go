//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/config"
)

// CaseOf is one end-to-end scenario against a cluster of type C.
type CaseOf[C any] struct {
	Name string
	Run  func(t *testing.T, c C)
}

// Case is one end-to-end scenario. It uses only the Cluster interface, so
// any harness can run it.
type Case = CaseOf[Cluster]

// APICase needs an API server: service accounts, Secrets.
type APICase = CaseOf[APICluster]

// Cases run in this order; add new ones at the end.
var Cases = []Case{
	{"docker-config-right-password-runs", caseRightPassword},
	{"docker-config-auth-field-runs", caseAuthField},
	{"docker-config-without-registry-fails-401", caseNoEntry},
	{"docker-config-wrong-password-fails-401", caseWrongPassword},
	{"provider-config-drop-in-directory-runs", caseDropInDirectory},
	{"plugin-answers-v1beta1-request", caseAPIVersion(CredentialProviderV1beta1)},
	{"fixed-response-plugin-runs", caseFixedResponse(CredentialProviderV1, true)},
	{"wrong-apiversion-response-fails", caseFixedResponse(CredentialProviderV1beta1, false)},
	{"burst-of-pulls-runs", caseBurst},
	{"rotated-password-next-pull-runs", caseRotation},
	// cases_sources_test.go: each skips, saying why, when the plugin lacks the source kind.
	{"credential-helper-pass-runs", caseCredentialHelper},
	{"podman-auth-two-namespaces-run", casePodmanNamespaces},
	{"burst-on-helper-costs-one-call", caseHelperBurst},
	{"helper-rotated-password-next-pull-runs", caseHelperRotation},
	// cases_deadline_test.go
	{"hung-helpers-still-answer-runs", caseHungHelpersStillAnswer},
}

const (
	runTimeout  = 60 * time.Second
	failTimeout = 60 * time.Second
)

// ourProvider is a provider entry for the plugin under test that matches
// the test registry.
func ourProvider(c Cluster, args ...string) CredentialProvider {
	return CredentialProvider{
		Name:                 PluginName,
		MatchImages:          []string{c.Registry().Host()},
		DefaultCacheDuration: duration("1m"),
		APIVersion:           CredentialProviderV1,
		Args:                 args,
		Env:                  config.PluginEnv,
	}
}

// requireUnauthorized checks that a pull failed because the registry
// refused the credentials (or their absence), not for another reason.
func requireUnauthorized(t *testing.T, f PullFailure) {
	t.Helper()
	msg := strings.ToLower(f.Message)
	// containerd 1.x names the status ("401 Unauthorized"); containerd 2.x
	// reports an anonymous pull that met the registry's 401 challenge as
	// "authorization failed: no basic auth credentials".
	if !strings.Contains(msg, "401") && !strings.Contains(msg, "unauthorized") &&
		!strings.Contains(msg, "no basic auth credentials") {
		t.Fatalf("pull failed with %s, want 401 Unauthorized: %s", f.Reason, f.Message)
	}
}

// requirePluginAnswered checks that the kubelet logged no failure of a
// provider for image: a pull that fails with 401 must fail because the
// plugin answered "no credentials" (or wrong ones), not because it crashed.
func requirePluginAnswered(t *testing.T, c Cluster, image string) {
	t.Helper()
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, e := range LogEntries(c.KubeletLog(t)) {
		if strings.Contains(e, "Failed to provide credentials") && strings.Contains(e, `image="`+repo+`"`) {
			t.Fatalf("the kubelet reports a provider failure for %s:\n%s", repo, tail(e, 1500))
		}
	}
}

// requirePluginRefused fails unless the kubelet logged a provider failure
// for image that carries why, the plugin's own reason.
func requirePluginRefused(t *testing.T, c Cluster, image, why string) {
	t.Helper()
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, e := range LogEntries(c.KubeletLog(t)) {
		if strings.Contains(e, "Failed to provide credentials") && strings.Contains(e, `image="`+repo+`"`) && strings.Contains(e, why) {
			return
		}
	}
	t.Fatalf("the kubelet's log has no provider failure for %s saying %q:\n%s", repo, why, tail(c.KubeletLog(t), 3000))
}

// A docker config.json with the right user and password: the kubelet gets
// them from the plugin and the private image runs.
func caseRightPassword(t *testing.T, c Cluster) {
	reg := c.Registry()
	cfg := c.WriteDockerConfig(t, "right", map[string]DockerAuth{
		reg.Host(): {Username: reg.Username(), Password: reg.Password()},
	})
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--docker-config", cfg))))
	pod := c.RunPod(t, PodSpec{Name: "right-password", Image: reg.FreshImage(t, "right-password")})
	c.WaitPodRunning(t, pod, runTimeout)
}

// The same with the credentials only in the "auth" field (base64 of
// user:password), as `docker login` writes them.
func caseAuthField(t *testing.T, c Cluster) {
	reg := c.Registry()
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username() + ":" + reg.Password()))
	cfg := c.WriteDockerConfig(t, "auth-field", map[string]DockerAuth{reg.Host(): {Auth: auth}})
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--docker-config", cfg))))
	pod := c.RunPod(t, PodSpec{Name: "auth-field", Image: reg.FreshImage(t, "auth-field")})
	c.WaitPodRunning(t, pod, runTimeout)
}

// A docker config that knows another registry only: the plugin returns no
// credentials, the pull is anonymous and the registry answers 401.
func caseNoEntry(t *testing.T, c Cluster) {
	reg := c.Registry()
	cfg := c.WriteDockerConfig(t, "other-registry", map[string]DockerAuth{
		"registry.invalid:5000": {Username: reg.Username(), Password: reg.Password()},
	})
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--docker-config", cfg))))
	pod := c.RunPod(t, PodSpec{Name: "no-entry", Image: reg.FreshImage(t, "no-entry")})
	requireUnauthorized(t, c.WaitPullFailed(t, pod, failTimeout))
	requirePluginAnswered(t, c, pod.Image)
}

// A wrong password for the right registry: the pull fails with 401 (the
// kubelet does not retry anonymously, and must not succeed either).
func caseWrongPassword(t *testing.T, c Cluster) {
	reg := c.Registry()
	cfg := c.WriteDockerConfig(t, "wrong", map[string]DockerAuth{
		reg.Host(): {Username: reg.Username(), Password: "wrong-" + reg.Password()},
	})
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--docker-config", cfg))))
	pod := c.RunPod(t, PodSpec{Name: "wrong-password", Image: reg.FreshImage(t, "wrong-password")})
	requireUnauthorized(t, c.WaitPullFailed(t, pod, failTimeout))
	requirePluginAnswered(t, c, pod.Image)
}

// Since 1.34 --image-credential-provider-config may name a folder whose
// files are merged in name order. Another provider (a copy of the plugin
// under another name, for another registry) sits beside ours.
func caseDropInDirectory(t *testing.T, c Cluster) {
	reg := c.Registry()
	cfg := c.WriteDockerConfig(t, "drop-in", map[string]DockerAuth{
		reg.Host(): {Username: reg.Username(), Password: reg.Password()},
	})
	c.InstallProvider(t, "ncp-unrelated", c.PluginPath())
	unrelated := ourProvider(c)
	unrelated.Name = "ncp-unrelated"
	unrelated.MatchImages = []string{"unrelated.invalid"}
	c.SetProviderConfig(t, ProviderConfigSet{Dir: true, Files: []ProviderConfigFile{
		{Name: "10-unrelated.json", Config: NewProviderConfig(unrelated)},
		{Name: "20-node-credential-provider.yaml", Config: NewProviderConfig(ourProvider(c, "--docker-config", cfg))},
	}})
	pod := c.RunPod(t, PodSpec{Name: "drop-in", Image: reg.FreshImage(t, "drop-in")})
	c.WaitPodRunning(t, pod, runTimeout)
}

// The plugin answers in the apiVersion the kubelet asks in: configured for
// an older version, the pull still works.
func caseAPIVersion(version string) func(t *testing.T, c Cluster) {
	return func(t *testing.T, c Cluster) {
		reg := c.Registry()
		cfg := c.WriteDockerConfig(t, "api-version", map[string]DockerAuth{
			reg.Host(): {Username: reg.Username(), Password: reg.Password()},
		})
		p := ourProvider(c, "--docker-config", cfg)
		p.APIVersion = version
		c.SetProviderConfig(t, SingleFile(NewProviderConfig(p)))
		pod := c.RunPod(t, PodSpec{Name: "api-" + version[strings.LastIndex(version, "/")+1:], Image: reg.FreshImage(t, "api-version")})
		c.WaitPodRunning(t, pod, runTimeout)
	}
}

// A stand-in plugin that prints a fixed response with the right credentials
// in the given apiVersion, configured as v1. Answered in v1 the image runs;
// answered in another version the kubelet drops the response and the pull
// fails: proof that the suite notices a plugin speaking the protocol wrong.
func caseFixedResponse(version string, wantRun bool) func(t *testing.T, c Cluster) {
	return func(t *testing.T, c Cluster) {
		reg := c.Registry()
		name := "fixed-response-" + version[strings.LastIndex(version, "/")+1:]
		response := fmt.Sprintf(`{"kind":"CredentialProviderResponse","apiVersion":%q,"cacheKeyType":"Registry","cacheDuration":"0s","auth":{%q:{"username":%q,"password":%q}}}`,
			version, reg.Host(), reg.Username(), reg.Password())
		script := filepath.Join(t.TempDir(), name)
		body := "#!/bin/sh\n# Stand-in credential provider: ignores the request, prints a fixed response.\ncat >/dev/null\nprintf '%s\\n' '" + response + "'\n"
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		c.InstallProvider(t, name, script)
		p := ourProvider(c)
		p.Name = name
		c.SetProviderConfig(t, SingleFile(NewProviderConfig(p)))
		pod := c.RunPod(t, PodSpec{Name: name, Image: reg.FreshImage(t, name)})
		if wantRun {
			c.WaitPodRunning(t, pod, runTimeout)
			return
		}
		requireUnauthorized(t, c.WaitPullFailed(t, pod, failTimeout))
		// And for the right reason: the kubelet dropped the response.
		if want := "did not match expected apiVersion"; !strings.Contains(c.KubeletLog(t), want) {
			t.Errorf("the kubelet log does not say %q", want)
		}
	}
}

// Several pods at once, each with its own image on the same registry: the
// kubelet runs the plugin once per image, concurrently (it pulls in
// parallel here), and every pod must run.
func caseBurst(t *testing.T, c Cluster) {
	reg := c.Registry()
	cfg := c.WriteDockerConfig(t, "burst", map[string]DockerAuth{
		reg.Host(): {Username: reg.Username(), Password: reg.Password()},
	})
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--docker-config", cfg))))
	var pods []Pod
	for i := 1; i <= 4; i++ {
		pods = append(pods, c.RunPod(t, PodSpec{Name: fmt.Sprintf("burst-%02d", i), Image: reg.Image(fmt.Sprintf("burst/img-%02d", i))}))
	}
	for _, pod := range pods {
		c.WaitPodRunning(t, pod, runTimeout)
	}
}

// A rotated password reaches the next pull: with --cache-duration=0s the
// kubelet asks the plugin again, and the plugin reads the file again. In
// between, the registry refuses the old password (proof that it rotated).
func caseRotation(t *testing.T, c Cluster) {
	reg := c.Registry()
	const user = "rotating-user"
	old, next := "old-"+reg.Password(), "new-"+reg.Password()
	reg.SetUser(t, user, old)
	auths := func(password string) map[string]DockerAuth {
		return map[string]DockerAuth{reg.Host(): {Username: user, Password: password}}
	}
	cfg := c.WriteDockerConfig(t, "rotation", auths(old))
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(ourProvider(c, "--docker-config", cfg, "--cache-duration=0s"))))
	before := c.RunPod(t, PodSpec{Name: "rotation-before", Image: reg.FreshImage(t, "rotation-before")})
	c.WaitPodRunning(t, before, runTimeout)

	reg.SetUser(t, user, next)
	stale := c.RunPod(t, PodSpec{Name: "rotation-stale", Image: reg.FreshImage(t, "rotation-stale")})
	requireUnauthorized(t, c.WaitPullFailed(t, stale, failTimeout))

	if got := c.WriteDockerConfig(t, "rotation", auths(next)); got != cfg {
		t.Fatalf("the config moved from %s to %s", cfg, got)
	}
	after := c.RunPod(t, PodSpec{Name: "rotation-after", Image: reg.FreshImage(t, "rotation-after")})
	c.WaitPodRunning(t, after, runTimeout)
}
