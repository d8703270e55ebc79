//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/config"
)

// pullGiveUp is how long WaitPodRunning watches a failing pull before it
// gives up: long enough for the kubelet's first retry (10s back-off).
const pullGiveUp = 15 * time.Second

// PluginName is the file name of our plugin in the provider bin dir.
const PluginName = "node-credential-provider"

// NodeName is the kubelet's --hostname-override; static pods are reported
// as <name>-<NodeName>.
const NodeName = "ncp-e2e-node"

// KubeletNode is a standalone kubelet (no API server) on this machine, with
// static pods, hostNetwork, containerd and the local registry. It
// implements Cluster.
type KubeletNode struct {
	ws         *Workspace
	reg        *LocalRegistry
	cd         *Containerd
	kubeletBin string
	plugin     string
	verbosity  int

	dir          string // kubelet/ under the workspace
	rootDir      string
	manifestDir  string
	binDir       string
	filesDir     string
	home         string
	workDir      string
	configPath   string
	cgroupRoot   string // e.g. /ncp-e2e-1a2b3c
	cgroupDirs   []string
	port         int
	healthzPort  int
	providerFlag string // current --image-credential-provider-config
	kubeconfig   string // --kubeconfig once AttachAPIServer ran; "" standalone

	mu    sync.Mutex
	proc  *Process
	seq   int
	cfgNo int

	client *http.Client
}

// NodeOptions are the inputs of StartKubeletNode.
type NodeOptions struct {
	KubeletBin string
	PluginBin  string
	Verbosity  int
}

// StartKubeletNode prepares the kubelet's folders, config and cgroup root,
// installs the plugin and starts the kubelet with a provider config that
// names the plugin without arguments.
func StartKubeletNode(ws *Workspace, reg *LocalRegistry, cd *Containerd, opts NodeOptions) (*KubeletNode, error) {
	dir, err := ws.MkdirAll("kubelet")
	if err != nil {
		return nil, err
	}
	n := &KubeletNode{
		ws: ws, reg: reg, cd: cd, kubeletBin: opts.KubeletBin, plugin: opts.PluginBin, verbosity: opts.Verbosity,
		dir:         dir,
		rootDir:     filepath.Join(dir, "root"),
		manifestDir: filepath.Join(dir, "manifests"),
		binDir:      filepath.Join(dir, "provider-bin"),
		filesDir:    filepath.Join(dir, "files"),
		home:        filepath.Join(dir, "home"),
		workDir:     filepath.Join(dir, "work"),
		configPath:  filepath.Join(dir, "kubelet-config.json"),
		cgroupRoot:  "/" + filepath.Base(ws.Dir),
		client: &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
			// The kubelet serves a self-signed certificate on loopback.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		}},
	}
	for _, d := range []string{n.rootDir, n.manifestDir, n.binDir, n.filesDir, n.home, n.workDir, filepath.Join(dir, "pod-logs"), filepath.Join(dir, "volume-plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := n.makeCgroupRoot(); err != nil {
		return n, err
	}
	ws.Defer("kubelet teardown", n.teardown)
	if n.port, err = FreePort(); err != nil {
		return n, err
	}
	if n.healthzPort, err = FreePort(); err != nil {
		return n, err
	}
	if err := n.writeKubeletConfig(); err != nil {
		return n, err
	}
	if err := copyExecutable(n.plugin, filepath.Join(n.binDir, PluginName)); err != nil {
		return n, fmt.Errorf("installing the plugin: %w", err)
	}
	initial := SingleFile(NewProviderConfig(CredentialProvider{
		Name: PluginName, MatchImages: []string{reg.Host()}, DefaultCacheDuration: duration("1m"), APIVersion: CredentialProviderV1, Env: config.PluginEnv,
	}))
	flag, err := n.writeProviderConfig(initial)
	if err != nil {
		return n, err
	}
	if err := n.restart(flag); err != nil {
		return n, err
	}
	return n, nil
}

func (n *KubeletNode) writeKubeletConfig() error {
	f, t := false, true
	hundred, ninetyNine := int32(100), int32(99)
	cfg := map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1beta1",
		"kind":       "KubeletConfiguration",
		// This machine has cgroup v1, which kubelet >= 1.35 refuses unless told.
		"failCgroupV1":           &f,
		"cgroupDriver":           "cgroupfs",
		"cgroupRoot":             n.cgroupRoot,
		"makeIPTablesUtilChains": &f,
		"staticPodPath":          n.manifestDir,
		"fileCheckFrequency":     "1s",
		"syncFrequency":          "10s",
		"address":                "127.0.0.1",
		"port":                   n.port,
		"readOnlyPort":           0,
		"healthzBindAddress":     "127.0.0.1",
		"healthzPort":            n.healthzPort,
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": &t},
			"webhook":   map[string]any{"enabled": &f},
		},
		"authorization":            map[string]any{"mode": "AlwaysAllow"},
		"containerRuntimeEndpoint": "unix://" + n.cd.Socket,
		"podLogsDir":               filepath.Join(n.dir, "pod-logs"),
		"volumePluginDir":          filepath.Join(n.dir, "volume-plugins"),
		"failSwapOn":               &f,
		// Keep image garbage collection and disk eviction out of the way.
		"imageGCHighThresholdPercent":  &hundred,
		"imageGCLowThresholdPercent":   &ninetyNine,
		"evictionHard":                 map[string]string{"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
		"resolvConf":                   "",
		"serializeImagePulls":          &f,
		"enableControllerAttachDetach": &f,
		"shutdownGracePeriod":          "0s",
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(n.configPath, data, 0o644)
}

// makeCgroupRoot makes a cgroup of our own in every v1 hierarchy so the
// kubelet's kubepods tree lives under it and teardown can remove it all.
func (n *KubeletNode) makeCgroupRoot() error {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		// cgroup v2 only (not tried on this project's machines, which are v1):
		// one hierarchy; the kubelet enables controllers as it creates paths.
		d := filepath.Join("/sys/fs/cgroup", n.cgroupRoot)
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("making cgroup %s: %w", d, err)
		}
		n.cgroupDirs = append(n.cgroupDirs, d)
		return nil
	}
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		base := filepath.Join("/sys/fs/cgroup", e.Name())
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			continue
		}
		d := filepath.Join(base, n.cgroupRoot)
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("making cgroup %s: %w", d, err)
		}
		n.cgroupDirs = append(n.cgroupDirs, d)
		if e.Name() == "cpuset" {
			// A new cpuset cgroup starts empty; tasks cannot join it until
			// it has the parent's cpus and mems.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(base, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
					return fmt.Errorf("writing %s: %w", filepath.Join(d, f), err)
				}
			}
		}
	}
	return nil
}

// writeProviderConfig writes cfg under a new name (a file or a folder) and
// returns the value for --image-credential-provider-config.
func (n *KubeletNode) writeProviderConfig(cfg ProviderConfigSet) (string, error) {
	n.mu.Lock()
	n.cfgNo++
	no := n.cfgNo
	n.mu.Unlock()
	if !cfg.Dir && len(cfg.Files) != 1 {
		return "", fmt.Errorf("a provider config file must be one file, got %d", len(cfg.Files))
	}
	content := func(f ProviderConfigFile) ([]byte, error) {
		if f.Raw != nil {
			return f.Raw, nil
		}
		return json.MarshalIndent(f.Config, "", "  ")
	}
	if !cfg.Dir {
		data, err := content(cfg.Files[0])
		if err != nil {
			return "", err
		}
		p := filepath.Join(n.dir, fmt.Sprintf("provider-config-%02d%s", no, filepath.Ext(cfg.Files[0].Name)))
		return p, os.WriteFile(p, data, 0o644)
	}
	d := filepath.Join(n.dir, fmt.Sprintf("provider-config-%02d.d", no))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	for _, f := range cfg.Files {
		data, err := content(f)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(d, f.Name), data, 0o644); err != nil {
			return "", err
		}
	}
	return d, nil
}

// restart stops the kubelet (if running) and starts it with the given
// provider config, then waits until it is healthy and serves /pods.
func (n *KubeletNode) restart(providerConfig string) error {
	n.providerFlag = providerConfig
	return n.start([]string{
		"--image-credential-provider-config=" + providerConfig,
		"--image-credential-provider-bin-dir=" + n.binDir,
	}, true)
}

// start stops the kubelet (if running) and starts it with the harness's
// own flags and extra; with wait, it waits until the kubelet is healthy and
// serves /pods.
func (n *KubeletNode) start(extra []string, wait bool) error {
	n.mu.Lock()
	old := n.proc
	n.mu.Unlock()
	if old != nil {
		if err := old.Stop(15 * time.Second); err != nil {
			return err
		}
	}
	argv := []string{n.kubeletBin,
		"--config=" + n.configPath,
		"--root-dir=" + n.rootDir,
		"--cert-dir=" + filepath.Join(n.rootDir, "pki"),
		"--hostname-override=" + NodeName,
		fmt.Sprintf("--v=%d", n.verbosity),
	}
	argv = append(argv, extra...)
	if n.kubeconfig != "" {
		argv = append(argv, "--kubeconfig="+n.kubeconfig)
	}
	// An empty HOME and working folder keep the kubelet's own keyring
	// (./config.json, ~/.docker/config.json) from finding credentials: a
	// pull that works must work because of the plugin.
	p, err := n.ws.Start("kubelet", n.workDir, []string{"HOME=" + n.home}, argv...)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	if !wait {
		return nil
	}
	err = WaitFor(60*time.Second, 50*time.Millisecond, func() (bool, error) {
		if done, perr := p.Exited(); done {
			return false, Permanent(fmt.Errorf("kubelet exited: %v", perr))
		}
		if err := n.get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.healthzPort), nil); err != nil {
			return false, err
		}
		if err := n.get(fmt.Sprintf("https://127.0.0.1:%d/pods", n.port), nil); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the kubelet: %w\n--- kubelet log tail:\n%s", err, TailFile(p.LogPath, 3000))
	}
	return nil
}

func (n *KubeletNode) get(url string, into any) error {
	resp, err := n.client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, tail(string(body), 300))
	}
	if into != nil {
		return json.Unmarshal(body, into)
	}
	return nil
}

// LogPath is the kubelet's log file.
func (n *KubeletNode) LogPath() string { return filepath.Join(n.ws.LogDir, "kubelet.log") }

func (n *KubeletNode) Registry() Registry { return n.reg }
func (n *KubeletNode) PluginPath() string { return n.plugin }

func (n *KubeletNode) InstallProvider(t testing.TB, name, src string) string {
	t.Helper()
	dst := filepath.Join(n.binDir, name)
	if err := copyExecutable(src, dst); err != nil {
		t.Fatalf("installing provider %s: %v", name, err)
	}
	return dst
}

func (n *KubeletNode) RunOnNode(t testing.TB, env []string, stdin []byte, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, tail(string(out), 800))
	}
	return string(out), nil
}

func (n *KubeletNode) ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return data
}

// AttachAPIServer restarts the kubelet registered to the API server that
// kubeconfig reaches, keeping its provider config. Static pods still work;
// pods now come from the API server too.
func (n *KubeletNode) AttachAPIServer(kubeconfig string) error {
	n.kubeconfig = kubeconfig
	return n.restart(n.providerFlag)
}

func (n *KubeletNode) WriteFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	d := filepath.Join(n.filesDir, sanitize(t.Name()))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (n *KubeletNode) WriteDockerConfig(t testing.TB, name string, auths map[string]DockerAuth) string {
	t.Helper()
	return n.WriteFile(t, filepath.Join(name, "config.json"), dockerConfigJSON(t, auths))
}

func (n *KubeletNode) SetProviderConfig(t testing.TB, cfg ProviderConfigSet) {
	t.Helper()
	flag, err := n.writeProviderConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := n.restart(flag); err != nil {
		t.Fatalf("restarting the kubelet with provider config %s: %v", flag, err)
	}
	t.Logf("kubelet restarted with %s in %.1fs", filepath.Base(flag), time.Since(start).Seconds())
}

func (n *KubeletNode) RunPod(t testing.TB, spec PodSpec) Pod {
	t.Helper()
	if spec.ServiceAccountName != "" || len(spec.ImagePullSecrets) > 0 {
		t.Fatalf("a standalone kubelet has no API server: pods cannot use service accounts or imagePullSecrets")
	}
	n.mu.Lock()
	n.seq++
	seq := n.seq
	n.mu.Unlock()
	ns, name, cmd := spec.identity(seq)
	grace := 1
	manifest := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"name": name, "namespace": ns, "annotations": spec.Annotations},
		"spec": map[string]any{
			"hostNetwork":                   true,
			"enableServiceLinks":            false,
			"terminationGracePeriodSeconds": grace,
			"containers": []map[string]any{{
				"name":            "main",
				"image":           spec.Image,
				"imagePullPolicy": spec.pullPolicy(),
				"command":         cmd,
			}},
		},
	}
	data, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(n.manifestPath(ns, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	pod := Pod{Name: name, Namespace: ns, Image: spec.Image}
	t.Cleanup(func() { n.DeletePod(t, pod) })
	return pod
}

func (n *KubeletNode) manifestPath(ns, name string) string {
	return filepath.Join(n.manifestDir, ns+"_"+name+".json")
}

func (n *KubeletNode) DeletePod(t testing.TB, pod Pod) {
	t.Helper()
	if err := os.Remove(n.manifestPath(pod.Namespace, pod.Name)); err != nil && !os.IsNotExist(err) {
		t.Errorf("deleting pod %s: %v", pod.Name, err)
	}
}

func (n *KubeletNode) RemoveImage(t testing.TB, image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.cd.Ctr(ctx, "images", "ls", "-q")
	if err != nil {
		t.Fatal(err)
	}
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, ref := range strings.Fields(out) {
		if ref == image || strings.HasPrefix(ref, repo+":") || strings.HasPrefix(ref, repo+"@") {
			if err := n.cd.RemoveImage(ctx, ref); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (n *KubeletNode) KubeletLog(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(n.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// podStatus is the part of a v1.Pod the harness reads from /pods.
type podStatus struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Status struct {
		Phase             string `json:"phase"`
		ContainerStatuses []struct {
			Name  string `json:"name"`
			State struct {
				Waiting *struct {
					Reason  string `json:"reason"`
					Message string `json:"message"`
				} `json:"waiting"`
				Running *struct {
					StartedAt string `json:"startedAt"`
				} `json:"running"`
				Terminated *struct {
					Reason   string `json:"reason"`
					ExitCode int    `json:"exitCode"`
					Message  string `json:"message"`
				} `json:"terminated"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

// podState reads the pod from the kubelet's /pods endpoint; nil when the
// kubelet does not report it (yet).
func (n *KubeletNode) podState(pod Pod) (*podStatus, error) {
	var list struct {
		Items []podStatus `json:"items"`
	}
	if err := n.get(fmt.Sprintf("https://127.0.0.1:%d/pods", n.port), &list); err != nil {
		return nil, err
	}
	want := pod.Name + "-" + NodeName
	for i := range list.Items {
		if list.Items[i].Metadata.Name == want && list.Items[i].Metadata.Namespace == pod.Namespace {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

func describe(ps *podStatus) string {
	if ps == nil {
		return "not reported by the kubelet yet"
	}
	var parts []string
	parts = append(parts, "phase="+ps.Status.Phase)
	for _, c := range ps.Status.ContainerStatuses {
		switch {
		case c.State.Waiting != nil:
			parts = append(parts, fmt.Sprintf("%s waiting %s: %s", c.Name, c.State.Waiting.Reason, c.State.Waiting.Message))
		case c.State.Running != nil:
			parts = append(parts, c.Name+" running")
		case c.State.Terminated != nil:
			parts = append(parts, fmt.Sprintf("%s terminated %s (exit %d) %s", c.Name, c.State.Terminated.Reason, c.State.Terminated.ExitCode, c.State.Terminated.Message))
		}
	}
	return strings.Join(parts, "; ")
}

func (n *KubeletNode) WaitPodRunning(t testing.TB, pod Pod, timeout time.Duration) {
	t.Helper()
	waitPodRunning(t, pod, timeout, func() (*podStatus, error) { return n.podState(pod) }, func() string {
		return "--- kubelet log tail:\n" + n.kubeletTail(pod)
	})
}

func (n *KubeletNode) WaitPullFailed(t testing.TB, pod Pod, timeout time.Duration) PullFailure {
	t.Helper()
	return waitPullFailed(t, pod, timeout, func() (*podStatus, error) { return n.podState(pod) }, func() string {
		return "--- kubelet log tail:\n" + n.kubeletTail(pod)
	})
}

// waitPodRunning polls state until every container of the pod runs; diag
// adds to the failure message.
func waitPodRunning(t testing.TB, pod Pod, timeout time.Duration, state func() (*podStatus, error), diag func() string) {
	t.Helper()
	start := time.Now()
	var last *podStatus
	var failingSince time.Time
	err := WaitFor(timeout, 100*time.Millisecond, func() (bool, error) {
		ps, err := state()
		if err != nil {
			return false, err
		}
		last = ps
		if ps == nil || len(ps.Status.ContainerStatuses) == 0 {
			return false, nil
		}
		for _, c := range ps.Status.ContainerStatuses {
			if c.State.Running != nil {
				continue
			}
			// A pull from the loopback registry takes milliseconds; the
			// kubelet retries after 10s. A pull still failing after a retry
			// will not recover: give up early instead of at the timeout.
			if w := c.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				if failingSince.IsZero() {
					failingSince = time.Now()
				} else if time.Since(failingSince) > pullGiveUp {
					return false, Permanent(fmt.Errorf("image pull still failing after %s", pullGiveUp))
				}
			}
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s (image %s) not running: %v; last state: %s\n%s",
			pod.Namespace, pod.Name, pod.Image, err, describe(last), diag())
	}
	t.Logf("pod %s running after %.1fs", pod.Name, time.Since(start).Seconds())
}

// waitPullFailed polls state until a container of the pod cannot pull its
// image, and returns what the kubelet reported.
func waitPullFailed(t testing.TB, pod Pod, timeout time.Duration, state func() (*podStatus, error), diag func() string) PullFailure {
	t.Helper()
	start := time.Now()
	var last *podStatus
	var got PullFailure
	err := WaitFor(timeout, 100*time.Millisecond, func() (bool, error) {
		ps, err := state()
		if err != nil {
			return false, err
		}
		last = ps
		if ps == nil {
			return false, nil
		}
		for _, c := range ps.Status.ContainerStatuses {
			if c.State.Running != nil {
				return false, Permanent(fmt.Errorf("container %s is running: the image was pulled", c.Name))
			}
			if w := c.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				got = PullFailure{Reason: w.Reason, Message: w.Message}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s (image %s): no pull failure: %v; last state: %s\n%s",
			pod.Namespace, pod.Name, pod.Image, err, describe(last), diag())
	}
	t.Logf("pod %s: %s after %.1fs: %s", pod.Name, got.Reason, time.Since(start).Seconds(), got.Message)
	return got
}

// kubeletTail returns the kubelet log lines about the pod's image or about
// credential providers, else the log's tail.
func (n *KubeletNode) kubeletTail(pod Pod) string {
	data, err := os.ReadFile(n.LogPath())
	if err != nil {
		return err.Error()
	}
	repo := pod.Image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, repo) || strings.Contains(strings.ToLower(l), "credential") || strings.Contains(l, "plugin") {
			lines = append(lines, tail(l, 600))
		}
	}
	if len(lines) == 0 {
		return TailFile(n.LogPath(), 3000)
	}
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// teardown removes the static pods and lets the kubelet stop them, stops
// the kubelet, and removes the cgroups made for it (containerd's teardown,
// which runs after this one, kills whatever is left).
func (n *KubeletNode) teardown() error {
	entries, _ := os.ReadDir(n.manifestDir)
	for _, e := range entries {
		_ = os.Remove(filepath.Join(n.manifestDir, e.Name()))
	}
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p != nil {
		// Pods deleted by the tests' clean-up may still be stopping: let the
		// kubelet finish, so it stops their containers and sandboxes itself.
		if done, _ := p.Exited(); !done {
			_ = WaitFor(15*time.Second, 200*time.Millisecond, func() (bool, error) {
				var list struct {
					Items []json.RawMessage `json:"items"`
				}
				err := n.get(fmt.Sprintf("https://127.0.0.1:%d/pods", n.port), &list)
				return err == nil && len(list.Items) == 0, err
			})
		}
		if err := p.Stop(15 * time.Second); err != nil {
			return err
		}
	}
	// The kubelet hard-codes this folder; remove it only when empty.
	_ = os.Remove("/var/lib/kubelet/device-plugins/kubelet.sock")
	removeIfEmpty("/var/lib/kubelet/device-plugins")
	removeIfEmpty("/var/lib/kubelet")
	return nil
}

// RemoveCgroups removes the cgroup trees made for the kubelet, deepest
// first. It runs after containerd's teardown, when no task is left.
func (n *KubeletNode) RemoveCgroups() error {
	var errs []string
	for _, root := range n.cgroupDirs {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for i := 0; i < 20; i++ {
				if err = os.Remove(d); err == nil || os.IsNotExist(err) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing cgroups: %s", strings.Join(errs, "; "))
	}
	return nil
}

func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
