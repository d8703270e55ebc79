//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kubeadmRoot is a kubeadm node's files under a folder, as a DaemonSet
// sees the host under /host; its /proc holds one kubelet.
func kubeadmRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range map[string]string{
		"usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": "[Service]\nEnvironment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"\nEnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nEnvironmentFile=-/etc/default/kubelet\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS\n",
		"var/lib/kubelet/kubeadm-flags.env":                        "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock\"\n",
		"proc/321/cmdline":                                         "/usr/bin/kubelet\x00--config=/var/lib/kubelet/config.yaml\x00--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock\x00",
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestInstallPrint(t *testing.T) {
	root := kubeadmRoot(t)
	bin := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, "", "install", "--root", root, "--binary", bin, "--match-image", "registry.example.com", "--arg=--docker-config=/var/lib/kubelet/config.json", "--print")
	for _, want := range []string{
		"# kubelet: pid 321, /usr/bin/kubelet\n",
		"# validate: the result has no problems\n",
		"+++ b/etc/default/kubelet\n@@ -0,0 +1 @@\n+KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=/etc/kubernetes/credential-provider-config.yaml --image-credential-provider-bin-dir=/usr/libexec/kubelet-image-credential-provider-plugins\"\n",
		"+  name: node-credential-provider\n",
		"binary /usr/libexec/kubelet-image-credential-provider-plugins/node-credential-provider added: 10 bytes, sha256 ",
		"# --print: 4 file(s) would change; nothing written\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 || r.stderr != "" || strings.Contains(r.stdout, root) {
		t.Errorf("code %d, stderr %q, or the root in the output:\n%s", r.code, r.stderr, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/default/kubelet")); !os.IsNotExist(err) {
		t.Errorf("--print wrote: %v", err)
	}
}

// The staged result goes through validate's own checks: provider args the
// plugin would refuse stop the install before anything is written.
func TestInstallValidates(t *testing.T) {
	root := kubeadmRoot(t)
	r := runBinary(t, "", "install", "--root", root, "--match-image", "registry.example.com", "--arg=--docker-konfig=/x")
	if r.code != 1 || !strings.Contains(r.stderr, "fails validation") || !strings.Contains(r.stderr, "unknown flag: --docker-konfig") || !strings.Contains(r.stderr, "nothing written") {
		t.Errorf("%+v", r)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/default/kubelet")); !os.IsNotExist(err) {
		t.Errorf("wrote after a failed validation: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "ncp.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\nsourcez: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, "", "install", "--root", root, "--match-image", "registry.example.com", "--config", "/etc/node-credential-provider/config.yaml", "--config-from", bad)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown field "sourcez"`) {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "install", "--root", root)
	if r.code != 1 || !strings.Contains(r.stderr, "no --match-image") {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "install", "--root", root, "--match-image", "r.example.com", "--restart", "--healthz-url", "https://127.0.0.1:10248/healthz")
	if r.code != 2 || !strings.Contains(r.stderr, "plain HTTP") {
		t.Errorf("%+v", r)
	}
	// A host healthz cannot ask is refused before anything is written or
	// restarted, not found out after the restart.
	r = runBinary(t, "", "install", "--root", root, "--match-image", "r.example.com", "--restart", "--healthz-url", "http://kubelet:10248/healthz")
	if r.code != 2 || !strings.Contains(r.stderr, "want an IP address or localhost") {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "install", "--root", root, "--match-image", "r.example.com", "--restart", "--restart-timeout", "0s")
	if r.code != 2 || !strings.Contains(r.stderr, "--restart-timeout") {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "install", "extra")
	if r.code != 2 {
		t.Errorf("%+v", r)
	}
}
