//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment of a run against a kind cluster (e2e/kind/run.sh sets it).
const (
	envKubeconfig = "NCP_E2E_KUBECONFIG" // set: run the cases against this cluster instead of a local kubelet
	envKindNode   = "NCP_E2E_KIND_NODE"  // the node (a docker container of the same name) pods are bound to
	envKindDir    = "NCP_E2E_KIND_DIR"   // the host folder mounted into the nodes (e2e/kind/kind-config.yaml)
)

// Where e2e/kind/kind-config.yaml mounts the host folder's parts on the nodes.
const (
	kindNodeBinDir    = "/usr/libexec/kubelet-image-credential-provider-plugins"
	kindNodeConfigDir = "/etc/kubernetes/credential-providers"
)

// KindCluster is a kind cluster reached through its kubeconfig: pods through
// kubectl (Kube, as with the local control plane), node operations through
// the mounted host folder and `docker exec` into the node's container. It
// implements APICluster, so the same cases run against it.
type KindCluster struct {
	ws      *Workspace
	reg     *LocalRegistry
	kube    *Kube
	node    string
	dir     string // host folder: provider-bin/, provider-config/, files/
	plugin  string
	started time.Time
}

// SetupKind reads the environment e2e/kind/run.sh prepared and returns the
// cluster, with the test image pushed to the kind network's registry.
func SetupKind(ws *Workspace, plugin string) (*KindCluster, error) {
	k := &KindCluster{ws: ws, node: os.Getenv(envKindNode), dir: os.Getenv(envKindDir), plugin: plugin, started: time.Now()}
	if k.node == "" || k.dir == "" {
		return nil, fmt.Errorf("%s and %s must be set with %s (e2e/kind/run.sh sets them)", envKindNode, envKindDir, envKubeconfig)
	}
	k.kube = &Kube{Kubeconfig: os.Getenv(envKubeconfig), Node: k.node, LogPath: kubectlLogPath(ws)}
	env, err := readEnvFile(filepath.Join(k.dir, "registry.env"))
	if err != nil {
		return nil, err
	}
	container := env["REGISTRY_CONTAINER"]
	k.reg = &LocalRegistry{
		ws:       ws,
		host:     env["REGISTRY_HOST"],
		pushHost: env["REGISTRY_PUSH_HOST"],
		user:     env["REGISTRY_USER"],
		password: env["REGISTRY_PASSWORD"],
		CertDir:  env["REGISTRY_CERT_DIR"],
		htpasswd: env["REGISTRY_HTPASSWD"],
		pushed:   map[string]bool{},
		restartFn: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := ws.Run(ctx, nil, "docker", "restart", container)
			return err
		},
	}
	for _, key := range []string{"REGISTRY_CONTAINER", "REGISTRY_HOST", "REGISTRY_PUSH_HOST", "REGISTRY_USER", "REGISTRY_PASSWORD", "REGISTRY_CERT_DIR", "REGISTRY_HTPASSWD"} {
		if env[key] == "" {
			return nil, fmt.Errorf("%s/registry.env has no %s", k.dir, key)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Phase("test-image-built", func() error { return k.reg.BuildTestImage(ctx) }); err != nil {
		return nil, err
	}
	if err := Phase(fmt.Sprintf("images-pushed(%d)", len(SetupRepos)), func() error { return k.reg.PushAll(ctx, SetupRepos) }); err != nil {
		return nil, err
	}
	if err := Phase("node-ready", func() error { return k.kube.WaitNodeReady(2 * time.Minute) }); err != nil {
		return nil, err
	}
	ws.Defer("kind pods", func() error { return k.kube.waitNoPods(60 * time.Second) })
	return k, nil
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (e2e/kind/registry.sh writes it)", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env, sc.Err()
}

func (k *KindCluster) Registry() Registry { return k.reg }
func (k *KindCluster) PluginPath() string { return k.plugin }

func (k *KindCluster) InstallProvider(t testing.TB, name, src string) string {
	t.Helper()
	if err := copyExecutable(src, filepath.Join(k.dir, "provider-bin", name)); err != nil {
		t.Fatalf("installing provider %s: %v", name, err)
	}
	return kindNodeBinDir + "/" + name
}

// WriteFile writes under files/, which the nodes mount at the same path.
func (k *KindCluster) WriteFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(k.dir, "files", sanitize(t.Name()), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (k *KindCluster) WriteDockerConfig(t testing.TB, name string, auths map[string]DockerAuth) string {
	t.Helper()
	return k.WriteFile(t, filepath.Join(name, "config.json"), dockerConfigJSON(t, auths))
}

func (k *KindCluster) ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	if strings.HasPrefix(path, filepath.Join(k.dir, "files")+"/") {
		data, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return data
	}
	out, _ := k.RunOnNode(t, nil, nil, "cat", path)
	return []byte(out)
}

func (k *KindCluster) RunOnNode(t testing.TB, env []string, stdin []byte, argv ...string) (string, error) {
	t.Helper()
	args := []string{"exec", "-i"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(append(args, k.node), argv...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker exec %s %s: %w: %s", k.node, strings.Join(argv, " "), err, tail(string(out), 800))
	}
	return string(out), nil
}

// SetProviderConfig replaces the files of the mounted drop-in folder the
// kubelet's --image-credential-provider-config names (one file in file
// mode), and restarts the kubelet.
func (k *KindCluster) SetProviderConfig(t testing.TB, cfg ProviderConfigSet) {
	t.Helper()
	dir := filepath.Join(k.dir, "provider-config")
	old, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range cfg.Files {
		data := f.Raw
		if data == nil {
			var err error
			if data, err = json.MarshalIndent(f.Config, "", "  "); err != nil {
				t.Fatal(err)
			}
		}
		name := f.Name
		if !cfg.Dir {
			name = "credential-provider-config" + filepath.Ext(f.Name)
		}
		if err := WriteFileAtomic(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := k.RunOnNode(t, nil, nil, "systemctl", "restart", "kubelet"); err != nil {
		t.Fatal(err)
	}
	err := WaitFor(60*time.Second, 250*time.Millisecond, func() (bool, error) {
		if _, err := k.RunOnNode(t, nil, nil, "curl", "-sf", "http://127.0.0.1:10248/healthz"); err != nil {
			return false, err
		}
		return true, nil
	})
	if err == nil {
		err = k.kube.WaitNodeReady(60 * time.Second)
	}
	if err != nil {
		t.Fatalf("the kubelet on %s after a new provider config: %v\n%s", k.node, err, tail(k.KubeletLog(t), 3000))
	}
	t.Logf("kubelet on %s restarted in %.1fs", k.node, time.Since(start).Seconds())
}

func (k *KindCluster) RunPod(t testing.TB, spec PodSpec) Pod {
	t.Helper()
	return k.kube.RunPod(t, spec)
}
func (k *KindCluster) DeletePod(t testing.TB, pod Pod) { t.Helper(); k.kube.DeletePod(t, pod) }

func (k *KindCluster) WaitPodRunning(t testing.TB, pod Pod, timeout time.Duration) {
	t.Helper()
	k.kube.WaitPodRunning(t, pod, timeout, nil)
}

func (k *KindCluster) WaitPullFailed(t testing.TB, pod Pod, timeout time.Duration) PullFailure {
	t.Helper()
	return k.kube.WaitPullFailed(t, pod, timeout, nil)
}

func (k *KindCluster) RemoveImage(t testing.TB, image string) {
	t.Helper()
	// crictl says "not found" or (with containerd 2.x) "no such image" for
	// an image the node does not have: already removed is removed.
	out, err := k.RunOnNode(t, nil, nil, "crictl", "rmi", image)
	if err != nil && !strings.Contains(out, "not found") && !strings.Contains(out, "no such image") {
		t.Fatal(err)
	}
}

// KubeletLog is the kubelet's journal since the run started.
func (k *KindCluster) KubeletLog(t testing.TB) string {
	t.Helper()
	out, err := k.RunOnNode(t, nil, nil, "journalctl", "-u", "kubelet", "--no-pager", "-o", "cat",
		"--since", fmt.Sprintf("@%d", k.started.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (k *KindCluster) Kubectl(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	return k.kube.Kubectl(t, stdin, args...)
}

func (k *KindCluster) KubectlErr(t testing.TB, stdin []byte, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return k.kube.KubectlErr(ctx, stdin, args...)
}

func (k *KindCluster) PodEvents(t testing.TB, pod Pod) string {
	t.Helper()
	return k.kube.PodEvents(t, pod)
}

func (k *KindCluster) NodeName() string   { return k.node }
func (k *KindCluster) Kubeconfig() string { return k.kube.Kubeconfig }
