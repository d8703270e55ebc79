//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// APICases need an API server; they run after Cases, in this order.
var APICases = []APICase{
	{"service-account-allowed-runs", caseScopingAllowed},
	{"service-account-not-allowed-fails-401", caseScopingDenied},
	{"export-secret-image-pull-secret-runs", caseExportSecret},
}

// Names the scoping cases share.
const (
	scopingAudience   = "ncp-e2e-registry-audience"
	scopingAnnotation = "ncp-e2e.example.com/registry-access"
)

// applyObjects applies JSON objects with kubectl.
func applyObjects(t *testing.T, c APICluster, objects ...map[string]any) {
	t.Helper()
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": objects}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, data, "apply", "-f", "-")
}

func namespace(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
}

func serviceAccount(ns, name string, annotations map[string]string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": name, "namespace": ns, "annotations": annotations}}
}

// audienceRBAC lets every node request tokens for audience: without it the
// kubelet never calls the plugin (and says so only at -v=5).
func audienceRBAC(audience string) []map[string]any {
	name := "ncp-e2e-audience-" + sanitize(audience)
	return []map[string]any{
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
			"metadata": map[string]any{"name": name},
			"rules": []map[string]any{{"apiGroups": []string{""}, "resources": []string{audience},
				"verbs": []string{"request-serviceaccounts-token-audience"}}}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": name},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
			"subjects": []map[string]any{{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}}},
	}
}

// loggedPlugin installs the plugin behind a wrapper that records each
// request with its token replaced by <redacted>, and the plugin's stderr,
// in two files on the node. It returns the wrapper's provider name and the
// two paths.
func loggedPlugin(t *testing.T, c Cluster, name string) (provider, requests, stderr string) {
	t.Helper()
	real := c.InstallProvider(t, name+"-real", c.PluginPath())
	requests = c.WriteFile(t, name+"-requests.log", nil)
	stderr = c.WriteFile(t, name+"-stderr.log", nil)
	script := fmt.Sprintf(`#!/bin/sh
# Records what the kubelet sends (the token redacted) and what the plugin
# logs, then answers with the plugin's stdout untouched.
req=$(cat)
printf '%%s\n' "$req" | sed -E 's/("serviceAccountToken":")[^"]*"/\1<redacted>"/' >>%[1]q
err=$(mktemp)
printf '%%s\n' "$req" | %[3]q "$@" 2>"$err"
rc=$?
cat "$err" >>%[2]q
cat "$err" >&2
rm -f "$err"
exit $rc
`, requests, stderr, real)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c.InstallProvider(t, name, p)
	return name, requests, stderr
}

// scopingSetup: namespaces and service accounts, the RBAC for the
// audience, our config allowing one service account with one annotation,
// and the kubelet asking for tokens. It returns the plugin's logs. The
// config allows service accounts team-a/* that carry the annotation.
func scopingSetup(t *testing.T, c APICluster) (requests, stderr string) {
	t.Helper()
	reg := c.Registry()
	objects := []map[string]any{
		namespace("team-a"), namespace("team-b"),
		serviceAccount("team-a", "puller", map[string]string{scopingAnnotation: "granted"}),
		serviceAccount("team-a", "no-annotation", nil),
		serviceAccount("team-b", "puller", map[string]string{scopingAnnotation: "granted"}),
	}
	applyObjects(t, c, append(objects, audienceRBAC(scopingAudience)...)...)
	creds := c.WriteDockerConfig(t, "scoped", map[string]DockerAuth{
		reg.Host(): {Username: reg.Username(), Password: reg.Password()},
	})
	ours := fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
scoping:
  audience: %s
sources:
  - name: team-a-pullers
    dockerConfig:
      paths: [%s]
    allow:
      serviceAccounts: ["team-a/*"]
      annotations:
        %s: granted
`, scopingAudience, creds, scopingAnnotation)
	cfg := c.WriteFile(t, "ncp-config.yaml", []byte(ours))
	name, requests, stderr := loggedPlugin(t, c, "ncp-logged")
	no := false
	p := ourProvider(c, "--config="+cfg, "-v=4")
	p.Name = name
	p.TokenAttributes = &TokenAttributes{
		ServiceAccountTokenAudience:          scopingAudience,
		CacheType:                            "ServiceAccount",
		RequireServiceAccount:                &no,
		OptionalServiceAccountAnnotationKeys: []string{scopingAnnotation},
	}
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(p)))
	return requests, stderr
}

// A pod whose service account the config allows pulls with the source's
// credential, and the plugin saw its token and annotation (never logging
// the token).
func caseScopingAllowed(t *testing.T, c APICluster) {
	requests, stderr := scopingSetup(t, c)
	pod := c.RunPod(t, PodSpec{Name: "sa-allowed", Namespace: "team-a", ServiceAccountName: "puller",
		Image: c.Registry().FreshImage(t, "sa-allowed")})
	c.WaitPodRunning(t, pod, runTimeout)

	req := string(c.ReadFile(t, requests))
	repo := strings.TrimSuffix(pod.Image, ":"+ImageTag)
	var got map[string]any
	for _, line := range strings.Split(strings.TrimSpace(req), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["image"] == repo {
			got = r
		}
	}
	if got == nil {
		t.Fatalf("the plugin got no request for %s; requests:\n%s", repo, req)
	}
	if got["serviceAccountToken"] != "<redacted>" {
		t.Errorf("the request for %s carried no service-account token: %v", repo, got)
	}
	if ann, _ := got["serviceAccountAnnotations"].(map[string]any); ann[scopingAnnotation] != "granted" {
		t.Errorf("the request for %s lacks annotation %s=granted: %v", repo, scopingAnnotation, got["serviceAccountAnnotations"])
	}
	log := string(c.ReadFile(t, stderr))
	if want := "service account team-a/puller"; !strings.Contains(log, want) {
		t.Errorf("the plugin's log (-v=4) does not mention %q:\n%s", want, tail(log, 2000))
	}
	requireNoToken(t, log)
}

// A pod whose service account the config does not allow gets nothing from
// the plugin and the pull fails with 401, whether the account is wrong or
// it lacks the annotation.
func caseScopingDenied(t *testing.T, c APICluster) {
	_, stderr := scopingSetup(t, c)
	reg := c.Registry()
	other := c.RunPod(t, PodSpec{Name: "sa-other-namespace", Namespace: "team-b", ServiceAccountName: "puller",
		Image: reg.FreshImage(t, "sa-denied")})
	bare := c.RunPod(t, PodSpec{Name: "sa-no-annotation", Namespace: "team-a", ServiceAccountName: "no-annotation",
		Image: reg.FreshImage(t, "sa-no-annotation")})
	// The plugin refuses with its reason, and the kubelet's log carries it:
	// the operator sees why the pull was anonymous.
	for pod, why := range map[Pod]string{
		other: `service account "team-b/puller" is not in allow.serviceAccounts`,
		bare:  `carries no annotation "` + scopingAnnotation,
	} {
		requireUnauthorized(t, c.WaitPullFailed(t, pod, failTimeout))
		requirePluginRefused(t, c, pod.Image, why)
	}
	log := string(c.ReadFile(t, stderr))
	for _, want := range []string{"service account team-b/puller", "service account team-a/no-annotation", "for this pod", scopingAnnotation} {
		if !strings.Contains(log, want) {
			t.Errorf("the plugin's log does not mention %q:\n%s", want, tail(log, 2000))
		}
	}
	requireNoToken(t, log)
}

// requireNoToken fails if a log holds what looks like a JWT.
func requireNoToken(t *testing.T, log string) {
	t.Helper()
	if strings.Contains(log, "eyJ") {
		t.Errorf("the plugin's log holds what looks like a token (eyJ...)")
	}
}

// export-secret writes a dockerconfigjson Secret that kubectl applies; a
// pod using it as imagePullSecret pulls with the plugin out of the way (its
// provider matches another registry), and without the Secret it fails.
func caseExportSecret(t *testing.T, c APICluster) {
	reg := c.Registry()
	const ns, missingNS = "export", "export-missing"
	applyObjects(t, c, namespace(ns), namespace(missingNS),
		serviceAccount(ns, "default", nil), serviceAccount(missingNS, "default", nil))

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.json")
	data, err := json.Marshal(map[string]any{"auths": map[string]DockerAuth{
		reg.Host(): {Username: reg.Username(), Password: reg.Password()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.PluginPath(), "export-secret", "--name", "regcred", "--namespace", ns,
		"--registry", reg.Host(), "--docker-config", cfgPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	secret, err := cmd.Output()
	if err != nil {
		t.Fatalf("export-secret: %v: %s", err, stderr.String())
	}
	if !strings.Contains(string(secret), "kubernetes.io/dockerconfigjson") {
		t.Fatalf("export-secret wrote no dockerconfigjson Secret (%d bytes)", len(secret))
	}
	c.Kubectl(t, secret, "apply", "-f", "-")

	// The plugin is configured for another registry only: the kubelet never
	// asks it about ours.
	away := ourProvider(c, "--docker-config", c.WriteDockerConfig(t, "empty", nil))
	away.MatchImages = []string{"unrelated.invalid"}
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(away)))

	with := c.RunPod(t, PodSpec{Name: "with-secret", Namespace: ns, ImagePullSecrets: []string{"regcred"},
		Image: reg.FreshImage(t, "export-secret")})
	without := c.RunPod(t, PodSpec{Name: "without-secret", Namespace: missingNS, ImagePullSecrets: []string{"regcred"},
		Image: reg.FreshImage(t, "export-missing")})
	c.WaitPodRunning(t, with, runTimeout)
	requireUnauthorized(t, c.WaitPullFailed(t, without, failTimeout))
	if ev := c.PodEvents(t, without); !strings.Contains(ev, "FailedToRetrieveImagePullSecret") {
		t.Errorf("no FailedToRetrieveImagePullSecret event for %s; events:\n%s", without.Name, ev)
	}
}
