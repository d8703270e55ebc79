//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables that steer a run (see README.md).
const (
	envKeep     = "NCP_E2E_KEEP"          // "1": keep the temporary folder (logs, configs) after the run
	envPlugin   = "NCP_E2E_PLUGIN"        // plugin binary; default <repo>/bin/node-credential-provider
	envKubeBin  = "NCP_E2E_KUBE_BIN"      // folder holding kubelet; default the build cache
	envKubeletV = "NCP_E2E_KUBELET_V"     // kubelet -v; default 2
	envSummary  = "NCP_E2E_SUMMARY"       // file to write the "N passed, N failed" line to
	envAPI      = "NCP_E2E_CONTROL_PLANE" // "0": skip the control-plane group (no etcd, no kube-apiserver)
	kubeVersion = "v1.37.2"               // keep in step with tools/kube/go.mod
)

// cluster is what the cases run against; TestMain sets it.
var cluster Cluster

// local is the harness on this machine, for the control-plane group to
// extend; nil when the cases run against another cluster.
var local struct {
	ws      *Workspace
	node    *KubeletNode
	cd      *Containerd
	kubeBin string
}

// tally counts the cases (subtests of TestCases) by outcome.
var tally struct {
	sync.Mutex
	passed, failed, skipped int
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	start := time.Now()
	keep := os.Getenv(envKeep) == "1"
	ReapStale(keep)
	ws, err := NewWorkspace()
	if err != nil {
		return setupFailed(err)
	}
	Logf("workspace %s (logs in %s)", ws.Dir, ws.LogDir)
	var node *KubeletNode
	var once sync.Once
	teardown := func() {
		once.Do(func() {
			if err := Phase("teardown", func() error { return ws.Close(keep) }); err != nil {
				Logf("teardown: %v", err)
			}
		})
	}
	defer teardown()
	// Ctrl-C or a SIGTERM: tear down before dying. (A go test timeout kills
	// the process outright; the next run's ReapStale cleans up after it.)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		Logf("got %v: tearing down", sig)
		teardown()
		tally.Lock()
		passed, failed := tally.passed, tally.failed
		tally.Unlock()
		summary(passed, failed+1, 0)
		os.Exit(1)
	}()

	if os.Getenv(envKubeconfig) != "" {
		// A kind cluster (e2e/kind/run.sh): the same cases, no local kubelet.
		plugin, err := pluginPath()
		var kc *KindCluster
		if err == nil {
			kc, err = SetupKind(ws, plugin)
		}
		if err != nil {
			teardown()
			return setupFailed(err)
		}
		cluster = kc
	} else {
		if err := setup(ws, &node); err != nil {
			teardown()
			return setupFailed(err)
		}
		cluster = node
		local.ws, local.node = ws, node
	}
	Logf("setup done in %.1fs", time.Since(start).Seconds())

	code := m.Run()
	teardown()

	tally.Lock()
	passed, failed, skipped := tally.passed, tally.failed, tally.skipped
	tally.Unlock()
	if code != 0 && failed == 0 {
		// A failure outside the cases (a panic, a harness test): count it.
		failed = 1
	}
	summary(passed, failed, skipped)
	Logf("total %.1fs", time.Since(start).Seconds())
	if failed > 0 && code == 0 {
		code = 1
	}
	return code
}

func setup(ws *Workspace, nodeOut **KubeletNode) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the e2e suite needs root (it runs containerd and a kubelet)")
	}
	plugin, err := pluginPath()
	if err != nil {
		return err
	}
	kubeBin := os.Getenv(envKubeBin)
	if kubeBin == "" {
		kubeBin = defaultKubeBinDir()
	}
	kubelet := filepath.Join(kubeBin, "kubelet")
	if _, err := os.Stat(kubelet); err != nil {
		return fmt.Errorf("no kubelet at %s: run e2e/tools/kube/build.sh (e2e/run.sh does)", kubelet)
	}
	verbosity := 2
	if v := os.Getenv(envKubeletV); v != "" {
		if verbosity, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("%s=%q: %w", envKubeletV, v, err)
		}
	}
	for _, p := range []string{"/.docker/config.json", "/.dockercfg"} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: the kubelet's own keyring would read it and the tests could not tell what the plugin did", p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var reg *LocalRegistry
	if err := Phase("registry-ready", func() (err error) {
		reg, err = StartRegistry(ws)
		return err
	}); err != nil {
		return err
	}
	if err := Phase("test-image-built", func() error { return reg.BuildTestImage(ctx) }); err != nil {
		return err
	}
	if err := Phase(fmt.Sprintf("images-pushed(%d)", len(SetupRepos)), func() error { return reg.PushAll(ctx, SetupRepos) }); err != nil {
		return err
	}
	// Registered before containerd starts so it runs after containerd's
	// teardown, when no container holds a cgroup any more.
	ws.Defer("cgroups", func() error {
		if *nodeOut == nil {
			return nil
		}
		return (*nodeOut).RemoveCgroups()
	})
	var cd *Containerd
	if err := Phase("containerd-ready", func() (err error) {
		cd, err = StartContainerd(ws, reg)
		return err
	}); err != nil {
		return err
	}
	local.cd, local.kubeBin = cd, kubeBin
	if err := Phase("pause-image-imported", func() error {
		pauseC, err := pauseSource(ctx)
		if err != nil {
			return err
		}
		return cd.BuildPauseImage(ctx, pauseC)
	}); err != nil {
		return err
	}
	// Set *nodeOut inside the phase, before the kubelet start can fail, so
	// cgroup clean-up still happens.
	return Phase("kubelet-ready", func() error {
		n, err := StartKubeletNode(ws, reg, cd, NodeOptions{KubeletBin: kubelet, PluginBin: plugin, Verbosity: verbosity})
		if n != nil {
			*nodeOut = n
		}
		return err
	})
}

// pluginPath is the plugin binary under test.
func pluginPath() (string, error) {
	plugin := os.Getenv(envPlugin)
	if plugin == "" {
		repo, err := repoRoot()
		if err != nil {
			return "", err
		}
		plugin = filepath.Join(repo, "bin", PluginName)
	}
	if st, err := os.Stat(plugin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("plugin binary %s missing or not executable: run `make build` (or set %s)", plugin, envPlugin)
	}
	return plugin, nil
}

func setupFailed(err error) int {
	fmt.Fprintf(os.Stderr, "e2e: setup failed: %v\n", err)
	summary(0, 1, 0)
	return 1
}

func summary(passed, failed, skipped int) {
	line := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		line += fmt.Sprintf(", %d skipped", skipped)
	}
	fmt.Println(line)
	if p := os.Getenv(envSummary); p != "" {
		_ = os.WriteFile(p, []byte(line+"\n"), 0o644)
	}
}

// TestCases runs every case of cases_test.go against the cluster, one at a
// time (each may restart the kubelet), and counts the outcomes.
func TestCases(t *testing.T) {
	runCases(t, Cases, cluster)
}

// TestControlPlane runs the cases that need an API server (APICases). On
// this machine it starts etcd and kube-apiserver now, only for them, and
// registers the kubelet to it; the standalone cases have run by then (Go
// runs the tests of a file in order).
func TestControlPlane(t *testing.T) {
	if os.Getenv(envAPI) == "0" {
		t.Skipf("%s=0: control-plane cases not run", envAPI)
	}
	api, ok := cluster.(APICluster)
	if !ok {
		if local.node == nil {
			t.Fatalf("the cluster has no API server and no local kubelet to register")
		}
		var err error
		if api, err = startControlPlane(); err != nil {
			tally.Lock()
			tally.failed++
			tally.Unlock()
			t.Fatalf("control plane: %v", err)
		}
	}
	runCases(t, APICases, api)
}

// startControlPlane starts etcd and kube-apiserver, registers the local
// kubelet and waits until the node is Ready.
func startControlPlane() (APICluster, error) {
	start := time.Now()
	etcd, apiserver := filepath.Join(local.kubeBin, "etcd"), filepath.Join(local.kubeBin, "kube-apiserver")
	for _, b := range []string{etcd, apiserver} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("no %s: run e2e/tools/kube/build.sh kube-apiserver etcd (e2e/run.sh does)", b)
		}
	}
	if _, err := exec.LookPath(KubectlBin); err != nil {
		return nil, fmt.Errorf("kubectl: %w", err)
	}
	var cp *ControlPlane
	if err := Phase("control-plane-ready", func() (err error) {
		cp, err = StartControlPlane(local.ws, ControlPlaneOptions{EtcdBin: etcd, APIServerBin: apiserver, NodeName: NodeName})
		return err
	}); err != nil {
		return nil, err
	}
	kube := &Kube{Kubeconfig: cp.AdminKubeconfig, Node: NodeName, LogPath: kubectlLogPath(local.ws)}
	if err := Phase("node-ready", func() error {
		if err := local.cd.WriteCNIConfig(); err != nil {
			return err
		}
		if err := local.node.AttachAPIServer(cp.KubeletKubeconfig); err != nil {
			return err
		}
		return kube.WaitNodeReady(60 * time.Second)
	}); err != nil {
		return nil, err
	}
	// Pods still being deleted when the run ends: let the kubelet finish
	// them while the API server is up (its teardown runs before the API
	// server stops).
	local.ws.Defer("api pods", func() error { return kube.waitNoPods(20 * time.Second) })
	Logf("control plane up in %.1fs", time.Since(start).Seconds())
	return NewAPINode(local.node, kube), nil
}

// runCases runs cases against c, one at a time, and counts the outcomes.
func runCases[C any](t *testing.T, cases []CaseOf[C], c C) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			start := time.Now()
			defer func() {
				tally.Lock()
				defer tally.Unlock()
				switch {
				case t.Failed():
					tally.failed++
				case t.Skipped():
					tally.skipped++
				default:
					tally.passed++
				}
				status := "ok"
				if t.Failed() {
					status = "FAILED"
				} else if t.Skipped() {
					status = "skipped"
				}
				fmt.Printf("e2e: case %s %s %.1fs\n", tc.Name, status, time.Since(start).Seconds())
			}()
			tc.Run(t, c)
		})
	}
}

func repoRoot() (string, error) {
	// go test runs in the package folder, e2e/.
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("no go.mod above %s: run the tests from the repository", wd)
	}
	return root, nil
}

func defaultKubeBinDir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "node-credential-provider-e2e", kubeVersion)
}

// pauseSource finds build/pause/linux/pause.c in the k8s.io/kubernetes
// module source. It asks the wrapper module in tools/kube (which requires
// that module) so the main module's go.mod and go.sum are never touched; the
// module comes from the cache, or the Go module proxy when the cache lacks it.
func pauseSource(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "k8s.io/kubernetes")
	cmd.Dir = filepath.Join("tools", "kube")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes in %s: %w", cmd.Dir, err)
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if mod.Version != kubeVersion {
		return "", fmt.Errorf("tools/kube requires k8s.io/kubernetes %s, the suite expects %s", mod.Version, kubeVersion)
	}
	p := filepath.Join(mod.Dir, "build", "pause", "linux", "pause.c")
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}
