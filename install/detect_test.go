//go:build linux

package install

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree writes files (host path -> content) under a new root and returns
// the root. A key "proc/PID/cmdline" takes argv joined by spaces.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, "/cmdline") {
			data = strings.ReplaceAll(data, " ", "\x00") + "\x00"
		}
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// kubeadm's drop-in as the Debian package ships it.
const kubeadmDropIn = `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`

const kubeadmFlags = `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10"
`

const kubeadmCmdline = "/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml --container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10"

func kubeadmNode(extra map[string]string) map[string]string {
	m := map[string]string{
		"usr/lib/systemd/system/kubelet.service":                   "[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\n",
		"usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeadmDropIn,
		"var/lib/kubelet/kubeadm-flags.env":                        kubeadmFlags,
		"etc/default/":                                             "",
		"proc/4242/cmdline":                                        kubeadmCmdline,
		"proc/17/cmdline":                                          "/usr/bin/containerd",
		"proc/self":                                                "not a pid",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func value(t *testing.T, n *Node, flag string) Setting {
	t.Helper()
	s, ok, err := n.Value(flag)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return Setting{}
	}
	return s
}

func TestDetectKubeadm(t *testing.T) {
	root := tree(t, kubeadmNode(nil))
	n, err := Detect(Host{Root: root}, DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.PID != 4242 || n.Cmdline[0] != "/usr/bin/kubelet" {
		t.Errorf("pid %d argv %v", n.PID, n.Cmdline)
	}
	if s := value(t, n, FlagConfig); s.Value != "/var/lib/kubelet/config.yaml" || !strings.Contains(s.Where, "10-kubeadm.conf (Environment KUBELET_CONFIG_ARGS)") {
		t.Errorf("--config: %+v", s)
	}
	if s := value(t, n, FlagProviderConfig); s.Value != "" {
		t.Errorf("provider config found: %+v", s)
	}
	if n.FlagsFile != DebianDefaults || n.FlagsVar != ExtraArgsVar {
		t.Errorf("flags go to %s %s (%s), want %s %s", n.FlagsFile, n.FlagsVar, n.FlagsWhy, DebianDefaults, ExtraArgsVar)
	}
	want := []string{"/usr/lib/systemd/system/kubelet.service", "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"}
	if strings.Join(n.Units, " ") != strings.Join(want, " ") {
		t.Errorf("units %v", n.Units)
	}
}

func TestDetectKubeadmWithProviderFlags(t *testing.T) {
	// The flags were added through kubeletExtraArgs, so they sit in
	// kubeadm-flags.env and on the command line; --root-dir too, with a space.
	flags := `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --image-credential-provider-config=/etc/kubernetes/cp.d --image-credential-provider-bin-dir=/opt/cp/bin --root-dir=/data/kubelet"` + "\n"
	root := tree(t, kubeadmNode(map[string]string{
		"var/lib/kubelet/kubeadm-flags.env": flags,
		"proc/4242/cmdline":                 kubeadmCmdline + " --image-credential-provider-config /etc/kubernetes/cp.d --image-credential-provider-bin-dir=/opt/cp/bin --root-dir=/data/kubelet",
	}))
	n, err := Detect(Host{Root: root}, DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{FlagProviderConfig: "/etc/kubernetes/cp.d", FlagBinDir: "/opt/cp/bin", FlagRootDir: "/data/kubelet"} {
		s := value(t, n, flag)
		if s.Value != want || s.Where != KubeadmFlagsFile+" (KUBELET_KUBEADM_ARGS)" {
			t.Errorf("--%s: %+v, want %s from kubeadm-flags.env", flag, s, want)
		}
	}
}

func TestDetectPlainSystemd(t *testing.T) {
	// A distribution's own unit (no kubeadm): flags written in ExecStart,
	// the administrator's in /etc/sysconfig/kubelet.
	root := tree(t, map[string]string{
		"etc/systemd/system/kubelet.service": `[Unit]
Description=Kubernetes Kubelet
[Service]
EnvironmentFile=-/etc/sysconfig/kubelet
ExecStart=/usr/local/bin/kubelet --config=/etc/kubernetes/kubelet.yaml --root-dir=/var/lib/kubelet \
  $KUBELET_EXTRA_ARGS
`,
		// A copy under /lib is shadowed by /etc.
		"lib/systemd/system/kubelet.service": "[Service]\nExecStart=/usr/bin/kubelet --config=/wrong\n",
		"etc/sysconfig/kubelet":              "# set by the administrator\nKUBELET_EXTRA_ARGS=--image-credential-provider-bin-dir=/usr/libexec/cp\n",
		"proc/900/cmdline":                   "/usr/local/bin/kubelet --config=/etc/kubernetes/kubelet.yaml --root-dir=/var/lib/kubelet --image-credential-provider-bin-dir=/usr/libexec/cp",
	})
	n, err := Detect(Host{Root: root}, DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := value(t, n, FlagConfig); s.Value != "/etc/kubernetes/kubelet.yaml" || s.Where != "/etc/systemd/system/kubelet.service (ExecStart)" {
		t.Errorf("--config: %+v", s)
	}
	if s := value(t, n, FlagBinDir); s.Value != "/usr/libexec/cp" || s.Where != RedHatSysconfig+" ("+ExtraArgsVar+")" {
		t.Errorf("--bin-dir: %+v", s)
	}
	if n.FlagsFile != RedHatSysconfig {
		t.Errorf("flags go to %q (%s)", n.FlagsFile, n.FlagsWhy)
	}
}

func TestDetectRootPrefixedTree(t *testing.T) {
	// A container with the host at /host: every path is read under the
	// root, and reported as a host path.
	root := tree(t, kubeadmNode(map[string]string{
		"etc/default/kubelet": "KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=/etc/kubernetes/cp.yaml\"\n",
	}))
	n, err := Detect(Host{Root: root}, DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := value(t, n, FlagProviderConfig)
	if s.Value != "/etc/kubernetes/cp.yaml" || s.Where != DebianDefaults+" ("+ExtraArgsVar+")" {
		t.Errorf("%+v", s)
	}
	if strings.Contains(strings.Join(found(n), "\n"), root) {
		t.Errorf("a reported path holds the root %s:\n%s", root, strings.Join(found(n), "\n"))
	}
	// --proc elsewhere, and --kubelet-pid.
	proc := tree(t, map[string]string{"1/cmdline": "/sbin/init", "77/cmdline": "/opt/kubelet --root-dir=/srv/k"})
	n, err = Detect(Host{Root: root, Proc: proc}, DetectOptions{PID: 77})
	if err != nil {
		t.Fatal(err)
	}
	if n.PID != 77 || value(t, n, FlagRootDir).Value != "/srv/k" {
		t.Errorf("pid %d, %+v", n.PID, n.Settings)
	}
}

func TestDetectRefuses(t *testing.T) {
	two := tree(t, kubeadmNode(map[string]string{"proc/5000/cmdline": "/usr/bin/kubelet --config=/x"}))
	if _, err := Detect(Host{Root: two}, DetectOptions{}); err == nil || !strings.Contains(err.Error(), "pids [4242 5000]") {
		t.Errorf("two kubelets: %v", err)
	}
	// Edited but not restarted: the file and the running kubelet disagree.
	root := tree(t, kubeadmNode(map[string]string{
		"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--image-credential-provider-bin-dir=/new\n",
		"proc/4242/cmdline":   kubeadmCmdline + " --image-credential-provider-bin-dir=/old",
	}))
	n, err := Detect(Host{Root: root}, DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = n.Value(FlagBinDir)
	if err == nil || !strings.Contains(err.Error(), `"/new" in /etc/default/kubelet`) || !strings.Contains(err.Error(), `"/old" in /proc/4242/cmdline`) {
		t.Errorf("conflict: %v", err)
	}
	cont := tree(t, map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=\"--a \\\n --b\"\n", "proc/": ""})
	if _, err := Detect(Host{Root: cont}, DetectOptions{}); err == nil || !strings.Contains(err.Error(), "line 1 continues") {
		t.Errorf("continued line: %v", err)
	}
}

func TestDetectNoKubeletNoFlagFiles(t *testing.T) {
	root := tree(t, map[string]string{"proc/1/cmdline": "/sbin/init"})
	n, err := Detect(Host{Root: root}, DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.PID != 0 || n.FlagsFile != "" || len(n.Notes) != 1 {
		t.Errorf("%+v", n)
	}
	n, err = Detect(Host{Root: root}, DetectOptions{FlagsFile: "/etc/kubelet.env", FlagsVar: "KUBELET_ARGS"})
	if err != nil || n.FlagsFile != "/etc/kubelet.env" || n.FlagsVar != "KUBELET_ARGS" {
		t.Errorf("%v %+v", err, n)
	}
}

func TestEnvFileEdit(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "KUBELET_EXTRA_ARGS=\"--a=1 --b=2\"\n"},
		{"# comment\nOTHER=x", "# comment\nOTHER=x\nKUBELET_EXTRA_ARGS=\"--a=1 --b=2\"\n"},
		{"KUBELET_EXTRA_ARGS=\n", "KUBELET_EXTRA_ARGS=\"--a=1 --b=2\"\n"},
		{"KUBELET_EXTRA_ARGS=--v=2\n", "KUBELET_EXTRA_ARGS=\"--v=2 --a=1 --b=2\"\n"},
		{"KUBELET_EXTRA_ARGS='--v=2'\n", "KUBELET_EXTRA_ARGS='--v=2 --a=1 --b=2'\n"},
		{"export KUBELET_EXTRA_ARGS=\"--v=2\"\n", "KUBELET_EXTRA_ARGS=\"--v=2 --a=1 --b=2\"\n"},
	} {
		out, added, err := addEnvArgs([]byte(tc.in), ExtraArgsVar, []string{"--a=1", "--b=2"})
		if err != nil || string(out) != tc.want {
			t.Errorf("add to %q: %q, %v; want %q", tc.in, out, err, tc.want)
			continue
		}
		back, err := removeEnvArgs(out, ExtraArgsVar, []string{"--a=1", "--b=2"}, added)
		if err != nil {
			t.Fatal(err)
		}
		// What was there comes back, except for the quoting of a value we
		// touched and "export", which systemd ignores.
		if tc.in == "" || strings.HasPrefix(tc.in, "# comment") {
			if string(back) != strings.TrimSuffix(tc.in, "\n")+map[bool]string{true: "", false: "\n"}[tc.in == ""] {
				t.Errorf("remove from %q: %q, want the original %q", out, back, tc.in)
			}
		} else if strings.Contains(string(back), "--a=1") || strings.Contains(string(back), "--b=2") {
			t.Errorf("remove from %q: %q", out, back)
		} else if strings.Contains(tc.in, "--v=2") && !strings.Contains(string(back), "--v=2") {
			t.Errorf("remove from %q took the administrator's --v=2 too: %q", out, back)
		}
	}
	if _, err := parseEnvFile([]byte("KUBELET_EXTRA_ARGS=a\"b\n")); err == nil {
		t.Error("a quote inside a bare value was accepted")
	}
}

// A FIFO where a host file should be (a flag file, a unit) is an error at
// once, never a wait for a writer that does not come.
func TestHostFileFIFOIsAnError(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/default"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/default/kubelet"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := Host{Root: root}.readFile("/etc/default/kubelet")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("err %v, want one naming a named pipe", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO waited")
	}
}
