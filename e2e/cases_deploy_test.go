//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The deploy case rolls the plugin out the way an operator does: the image
// `make image` builds, pushed to the password-protected registry; deploy/
// applied with kubectl -k (an overlay names that image, a pull secret our
// export-secret wrote, and this node's layout); the DaemonSet's install
// restarts the kubelet through the e2e's restart command; a private image is
// then pulled through the plugin the DaemonSet installed. Deleting the
// DaemonSet and running deploy/uninstall/job.yaml leaves the node as it was.
func init() {
	APICases = append(APICases, APICase{"deploy-daemonset-installs-and-uninstall-job-removes", caseDeploy})
}

const (
	deployNS    = "node-credential-provider"
	deployImage = "ghcr.io/node-credential-provider/node-credential-provider" // as deploy/ names it
	pullSecret  = "node-credential-provider-pull"
)

func caseDeploy(t *testing.T, c APICluster) {
	if local.node == nil {
		t.Skip("the deploy case restarts the local kubelet; a kind cluster has none")
	}
	repo, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	deployDir := filepath.Join(repo, "deploy")
	reg := c.Registry()
	stop := startControllers(t, c.Kubeconfig())
	defer func() {
		// The README's last step, while the controllers still run (the namespace controller empties it).
		if out, err := c.KubectlErr(t, nil, "delete", "-k", deployDir, "--ignore-not-found", "--timeout=50s"); err != nil {
			t.Errorf("kubectl delete -k deploy/: %v\n%s", err, out)
		}
		stop()
	}()

	// The manifests as they are, against the real API server's validation and admission (a dry run
	// cannot create the namespace that the namespaced objects' dry run needs: that one is real).
	c.Kubectl(t, nil, "apply", "-f", filepath.Join(deployDir, "namespace.yaml"))
	c.Kubectl(t, nil, "apply", "--dry-run=server", "-k", deployDir)
	job := uninstallJob(t, deployDir, deployImage+":v0.1.0", nil)
	c.Kubectl(t, job, "create", "--dry-run=server", "-f", "-")

	// The image, built and pushed as the Makefile does.
	start := time.Now()
	dist := t.TempDir()
	ref := reg.Host() + "/ncp/node-credential-provider"
	runIn(t, repo, "make", "--no-print-directory", "image", "DIST="+dist, "IMAGE="+ref)
	digest := strings.TrimSpace(readFile(t, filepath.Join(dist, "image", "digest")))
	push := exec.Command(filepath.Join(repo, "bin", "ncp-image"), "push", "--layout", filepath.Join(dist, "image", "oci"),
		"--to", ref+":e2e", "--username", reg.Username(), "--password-stdin", "--ca-file", local.node.reg.CAFile)
	push.Stdin = strings.NewReader(reg.Password() + "\n")
	out, err := push.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != ref+"@"+digest {
		t.Fatalf("push: %v: %s (want %s@%s)", err, out, ref, digest)
	}
	t.Logf("image %s@%s built and pushed in %.1fs", ref, digest, time.Since(start).Seconds())

	// The node: a kubelet started from a flag file, with another provider already configured.
	u, _, otherImage := startBesideOther(t, local.node, false)
	before := files(t, u.dir)
	dc := local.node.WriteDockerConfig(t, "deploy", map[string]DockerAuth{reg.Host(): {Username: reg.Username(), Password: reg.Password()}})
	hostBefore := hostTraces()

	// The pull secret for our own image, from export-secret, in the namespace deploy/ makes.
	secret, err := exec.Command(local.node.plugin, "export-secret", "--docker-config", dc, "--name", pullSecret, "-n", deployNS, "--image", ref).Output()
	if err != nil {
		t.Fatalf("export-secret: %v", err)
	}
	c.Kubectl(t, secret, "apply", "-f", "-")

	// Our node's paths live under u.dir: the overlay mounts it, and passes them to install.
	layoutArgs := []string{"--flags-file=" + u.flagsFile, "--state-dir=" + u.stateDir,
		"--restart-command=" + u.restart, "--healthz-url=" + u.healthz()}
	// By pid: a kind cluster's kubelets may run on this machine too.
	installArgs := append([]string{"install", kubeletPID(u), "--root=/host", "--restart", "--match-image=" + reg.Host(), "--arg=--docker-config=" + dc}, layoutArgs...)
	overlay := writeOverlay(t, deployDir, ref, digest, u.dir, installArgs)
	start = time.Now()
	c.Kubectl(t, nil, "apply", "-k", overlay)
	if out, err := c.KubectlErr(t, nil, "rollout", "status", "-n", deployNS, "daemonset/node-credential-provider", "--timeout=50s"); err != nil {
		t.Fatalf("rollout: %v\n%s\n%s", err, out, deployDiag(t, c))
	}
	t.Logf("DaemonSet rolled out in %.1fs", time.Since(start).Seconds())
	state := c.Kubectl(t, nil, "get", "pods", "-n", deployNS, "-l", "app.kubernetes.io/component=install",
		"-o", `jsonpath={range .items[*]}{.spec.nodeName} {.status.initContainerStatuses[0].state.terminated.exitCode} {.status.initContainerStatuses[0].state.terminated.reason}{"\n"}{end}`)
	if strings.TrimSpace(state) != NodeName+" 0 Completed" {
		t.Fatalf("install containers: %q, want %q", state, NodeName+" 0 Completed")
	}
	if n := u.restarts.Load(); n != 1 {
		t.Errorf("the install restarted the kubelet %d times, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(u.binDir, PluginName)); err != nil {
		t.Errorf("no plugin binary in the kubelet's bin dir: %v", err)
	}

	// The plugin the DaemonSet installed answers the kubelet; the other provider still does. (The pods
	// use the namespace's service account: no controller makes "default" ones here. Neither names the
	// pull secret.)
	ours := c.RunPod(t, PodSpec{Name: "deploy-ours", Image: reg.FreshImage(t, "deploy-ours"), Namespace: deployNS, ServiceAccountName: deployNS})
	theirs := c.RunPod(t, PodSpec{Name: "deploy-other", Image: otherImage("deploy-other"), Namespace: deployNS, ServiceAccountName: deployNS})
	c.WaitPodRunning(t, ours, runTimeout)
	c.WaitPodRunning(t, theirs, runTimeout)
	c.DeletePod(t, ours)
	c.DeletePod(t, theirs)

	// Uninstall as deploy/README.md says: delete the DaemonSet, run the Job on the node.
	c.Kubectl(t, nil, "delete", "daemonset", "-n", deployNS, "node-credential-provider", "--wait")
	if err := WaitFor(60*time.Second, 500*time.Millisecond, func() (bool, error) {
		out, err := c.KubectlErr(t, nil, "get", "pods", "-n", deployNS, "-l", "app.kubernetes.io/component=install", "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", nil
	}); err != nil {
		t.Fatalf("the DaemonSet's pods stay: %v", err)
	}
	if n := u.restarts.Load(); n != 1 {
		t.Errorf("deleting the DaemonSet restarted the kubelet (%d restarts)", n)
	}
	job = uninstallJob(t, deployDir, ref+"@"+digest, func(j *batchv1.Job) {
		pod := &j.Spec.Template.Spec
		pod.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
		pod.Containers[0].Args = append(append([]string(nil), pod.Containers[0].Args...), append(layoutArgs, kubeletPID(u))...)
		addHostDir(pod, &pod.Containers[0], u.dir)
	})
	name := strings.TrimSpace(c.Kubectl(t, job, "create", "-f", "-", "-o", "name"))
	if out, err := c.KubectlErr(t, nil, "wait", "-n", deployNS, "--for=condition=complete", name, "--timeout=50s"); err != nil {
		logs, _ := c.KubectlErr(t, nil, "get", "-n", deployNS, name, "-o", "yaml")
		t.Fatalf("uninstall Job: %v\n%s\n%s\n%s", err, out, logs, deployDiag(t, c))
	}
	if n := u.restarts.Load(); n != 2 {
		t.Errorf("%d restarts after the uninstall Job, want 2", n)
	}
	requireSameFiles(t, "after the uninstall Job", before, files(t, u.dir))
	theirs = c.RunPod(t, PodSpec{Name: "undeploy-other", Image: otherImage("undeploy-other"), Namespace: deployNS, ServiceAccountName: deployNS})
	c.WaitPodRunning(t, theirs, runTimeout)
	gone := c.RunPod(t, PodSpec{Name: "undeploy-ours", Image: reg.FreshImage(t, "undeploy-ours"), Namespace: deployNS, ServiceAccountName: deployNS})
	requireUnauthorized(t, c.WaitPullFailed(t, gone, failTimeout))
	// On the host itself, outside the mounts the overlay added: only the
	// directories deploy/README.md names as the runtime's may be new, empty.
	for p, existed := range hostBefore {
		if existed {
			continue
		}
		entries, err := os.ReadDir(p)
		if err == nil && len(entries) > 0 {
			t.Errorf("%s was not there before and now holds %d entries", p, len(entries))
		}
		os.Remove(p)
	}
}

func kubeletPID(u *unitKubelet) string {
	u.n.mu.Lock()
	defer u.n.mu.Unlock()
	return fmt.Sprintf("--kubelet-pid=%d", u.n.proc.PID())
}

// hostTraces says which host directories that the DaemonSet's hostPath
// volumes may create (deploy/README.md) exist now.
func hostTraces() map[string]bool {
	out := map[string]bool{}
	for _, p := range []string{"/var/lib/node-credential-provider", "/run/systemd", "/lib64"} {
		_, err := os.Lstat(p)
		out[p] = err == nil
	}
	return out
}

// startControllers runs kube-controller-manager (the DaemonSet, Job and
// garbage-collector controllers) and kube-scheduler against the API server,
// for as long as the case runs.
func startControllers(t *testing.T, kubeconfig string) func() {
	t.Helper()
	var procs []*Process
	for _, p := range []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", []string{"--controllers=daemonset-controller,job-controller,garbage-collector-controller,ttl-after-finished-controller,namespace-controller", "--leader-elect=false", "--secure-port=0"}},
		{"kube-scheduler", []string{"--leader-elect=false", "--secure-port=0"}},
	} {
		bin := filepath.Join(local.kubeBin, p.name)
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("no %s: run e2e/tools/kube/build.sh %s (e2e/run.sh does)", bin, p.name)
		}
		proc, err := local.ws.Start(p.name, local.ws.Dir, nil, append([]string{bin, "--kubeconfig=" + kubeconfig}, p.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, proc)
	}
	return func() {
		for _, p := range procs {
			if err := p.Stop(10 * time.Second); err != nil {
				t.Errorf("stopping %s: %v", p.Name, err)
			}
		}
	}
}

// writeOverlay writes a kustomization on top of deploy/ that names the
// pushed image by digest and the local pause image, adds the pull secret,
// mounts dir (this case's node layout) and sets install's arguments.
func writeOverlay(t *testing.T, deployDir, ref, digest, dir string, args []string) string {
	t.Helper()
	overlay := t.TempDir()
	// kustomize takes a base only by a path relative to the overlay.
	base, err := filepath.Rel(overlay, deployDir)
	if err != nil {
		t.Fatal(err)
	}
	patch := map[string]any{
		"apiVersion": "apps/v1", "kind": "DaemonSet",
		"metadata": map[string]any{"name": "node-credential-provider", "namespace": deployNS},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"imagePullSecrets": []any{map[string]any{"name": pullSecret}},
			"initContainers": []any{map[string]any{
				"name": "install", "args": args,
				"volumeMounts": []any{map[string]any{"name": "e2e-node", "mountPath": "/host" + dir}},
			}},
			"volumes": []any{map[string]any{"name": "e2e-node", "hostPath": map[string]any{"path": dir, "type": "Directory"}}},
		}}},
	}
	k := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
		"resources": []any{base},
		"images": []any{
			map[string]any{"name": deployImage, "newName": ref, "digest": digest},
			map[string]any{"name": "registry.k8s.io/pause", "newName": strings.Split(PauseImage, ":")[0], "newTag": strings.Split(PauseImage, ":")[1]},
		},
		"patches": []any{map[string]any{"path": "e2e.yaml"}},
	}
	for name, v := range map[string]any{"kustomization.yaml": k, "e2e.yaml": patch} {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(overlay, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return overlay
}

// uninstallJob is deploy/uninstall/job.yaml for this node and image, as the
// README's sed makes it, then changed by edit (nil: as it is).
func uninstallJob(t *testing.T, deployDir, image string, edit func(*batchv1.Job)) []byte {
	t.Helper()
	src := strings.ReplaceAll(readFile(t, filepath.Join(deployDir, "uninstall", "job.yaml")), "NODE_NAME", NodeName)
	var j batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(src), &j); err != nil {
		t.Fatal(err)
	}
	j.Spec.Template.Spec.Containers[0].Image = image
	if edit != nil {
		edit(&j)
	}
	b, err := json.Marshal(&j)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addHostDir(pod *corev1.PodSpec, c *corev1.Container, dir string) {
	dirType := corev1.HostPathDirectory
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "e2e-node", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirType}}})
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "e2e-node", MountPath: "/host" + dir})
}

// deployDiag is what explains a failed rollout: the pods, their events, the
// install container's log as the kubelet keeps it (kubectl logs cannot reach
// a kubelet on 127.0.0.1).
func deployDiag(t *testing.T, c APICluster) string {
	var b strings.Builder
	for _, args := range [][]string{
		{"get", "pods,jobs", "-n", deployNS, "-o", "wide"},
		{"get", "events", "-n", deployNS, "--sort-by=.lastTimestamp"},
		{"get", "pods", "-n", deployNS, "-o", "jsonpath={range .items[*]}{.metadata.name}: {.status.initContainerStatuses}{.status.containerStatuses}{\"\\n\"}{end}"},
	} {
		out, _ := c.KubectlErr(t, nil, args...)
		fmt.Fprintf(&b, "$ kubectl %s\n%s\n", strings.Join(args, " "), out)
	}
	logs, _ := filepath.Glob(filepath.Join(local.node.dir, "pod-logs", deployNS+"_*", "*", "*.log"))
	for _, l := range logs {
		fmt.Fprintf(&b, "==> %s\n%s\n", l, TailFile(l, 3000))
	}
	return b.String()
}

func runIn(t *testing.T, dir string, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
