//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kube is a cluster reached through a kubeconfig and kubectl: pods are API
// objects bound to one node by spec.nodeName. The local control plane and
// a kind cluster both use it for everything about pods, so the cases see
// the same behaviour from either.
type Kube struct {
	Kubeconfig string
	Node       string
	// LogPath receives every kubectl command line and its output (never its
	// stdin, which may hold a Secret).
	LogPath string

	mu  sync.Mutex
	seq int
}

// KubectlErr runs kubectl with stdin and returns its stdout; on failure the
// error holds stderr.
func (k *Kube) KubectlErr(ctx context.Context, stdin []byte, args ...string) (string, error) {
	argv := append([]string{"--kubeconfig", k.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, KubectlBin, argv...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if k.LogPath != "" && !(len(args) > 0 && args[0] == "get") {
		if f, ferr := os.OpenFile(k.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
			fmt.Fprintf(f, "$ kubectl %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
			if err != nil {
				fmt.Fprintf(f, "(%v)\n", err)
			}
			f.Close()
		}
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, tail(stderr.String(), 800))
	}
	return stdout.String(), nil
}

// Kubectl is KubectlErr that fails the test on error.
func (k *Kube) Kubectl(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := k.KubectlErr(ctx, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// NodeName is the node pods are bound to.
func (k *Kube) NodeName() string { return k.Node }

// WaitNodeReady waits until the node reports Ready.
func (k *Kube) WaitNodeReady(timeout time.Duration) error {
	return WaitFor(timeout, 250*time.Millisecond, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := k.KubectlErr(ctx, nil, "get", "node", k.Node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return false, err
		}
		if strings.TrimSpace(out) != "True" {
			return false, fmt.Errorf("node %s Ready=%q", k.Node, strings.TrimSpace(out))
		}
		return true, nil
	})
}

// RunPod creates a pod bound to the node. Names are made unique, as with
// static pods, so no case inherits another's back-off.
func (k *Kube) RunPod(t testing.TB, spec PodSpec) Pod {
	t.Helper()
	k.mu.Lock()
	k.seq++
	seq := k.seq
	k.mu.Unlock()
	ns, name, cmd := spec.identity(seq)
	podSpec := map[string]any{
		"nodeName":                      k.Node,
		"hostNetwork":                   true,
		"enableServiceLinks":            false,
		"automountServiceAccountToken":  false,
		"terminationGracePeriodSeconds": 1,
		// No controller removes the not-ready taint the API server puts on
		// a new node; pods bound by name do not care, tolerate it anyway.
		"tolerations": []map[string]any{{"operator": "Exists"}},
		"containers": []map[string]any{{
			"name":            "main",
			"image":           spec.Image,
			"imagePullPolicy": spec.pullPolicy(),
			"command":         cmd,
		}},
	}
	if spec.ServiceAccountName != "" {
		podSpec["serviceAccountName"] = spec.ServiceAccountName
	}
	if len(spec.ImagePullSecrets) > 0 {
		var refs []map[string]string
		for _, s := range spec.ImagePullSecrets {
			refs = append(refs, map[string]string{"name": s})
		}
		podSpec["imagePullSecrets"] = refs
	}
	manifest := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"name": name, "namespace": ns, "annotations": spec.Annotations},
		"spec":       podSpec,
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	k.Kubectl(t, data, "create", "-f", "-")
	pod := Pod{Name: name, Namespace: ns, Image: spec.Image}
	t.Cleanup(func() { k.DeletePod(t, pod) })
	return pod
}

// DeletePod deletes the pod without waiting: the kubelet stops it and
// removes it (there is no controller-manager to do it).
func (k *Kube) DeletePod(t testing.TB, pod Pod) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := k.KubectlErr(ctx, nil, "delete", "pod", "-n", pod.Namespace, pod.Name, "--ignore-not-found", "--wait=false"); err != nil {
		t.Errorf("deleting pod %s: %v", pod.Name, err)
	}
}

func (k *Kube) podState(pod Pod) (*podStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := k.KubectlErr(ctx, nil, "get", "pod", "-n", pod.Namespace, pod.Name, "-o", "json", "--ignore-not-found")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	var ps podStatus
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		return nil, err
	}
	return &ps, nil
}

// PodEvents returns the pod's events as "Reason: message" lines, oldest first.
func (k *Kube) PodEvents(t testing.TB, pod Pod) string {
	t.Helper()
	out := k.Kubectl(t, nil, "get", "events", "-n", pod.Namespace, "--field-selector", "involvedObject.name="+pod.Name, "-o", "json")
	var list struct {
		Items []struct {
			Reason        string `json:"reason"`
			Message       string `json:"message"`
			LastTimestamp string `json:"lastTimestamp"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("decoding events: %v", err)
	}
	sort.SliceStable(list.Items, func(i, j int) bool { return list.Items[i].LastTimestamp < list.Items[j].LastTimestamp })
	var lines []string
	for _, e := range list.Items {
		lines = append(lines, e.Reason+": "+e.Message)
	}
	return strings.Join(lines, "\n")
}

// WaitPodRunning waits until every container of the pod runs.
func (k *Kube) WaitPodRunning(t testing.TB, pod Pod, timeout time.Duration, diag func() string) {
	t.Helper()
	waitPodRunning(t, pod, timeout, func() (*podStatus, error) { return k.podState(pod) }, func() string {
		return k.diagnose(t, pod, diag)
	})
}

// WaitPullFailed waits until a container of the pod cannot pull its image.
func (k *Kube) WaitPullFailed(t testing.TB, pod Pod, timeout time.Duration, diag func() string) PullFailure {
	t.Helper()
	return waitPullFailed(t, pod, timeout, func() (*podStatus, error) { return k.podState(pod) }, func() string {
		return k.diagnose(t, pod, diag)
	})
}

func (k *Kube) diagnose(t testing.TB, pod Pod, diag func() string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := k.KubectlErr(ctx, nil, "get", "events", "-n", pod.Namespace, "--field-selector", "involvedObject.name="+pod.Name)
	if err != nil {
		events = err.Error()
	}
	s := "--- events:\n" + events
	if diag != nil {
		s += "\n--- kubelet log:\n" + diag()
	}
	return s
}

// APINode is the local kubelet registered to the local control plane: node
// operations are the KubeletNode's, pods are API objects. It implements
// APICluster.
type APINode struct {
	*KubeletNode
	kube *Kube
}

// NewAPINode wraps a node already registered to the API server that kube reaches.
func NewAPINode(n *KubeletNode, kube *Kube) *APINode { return &APINode{KubeletNode: n, kube: kube} }

func (a *APINode) RunPod(t testing.TB, spec PodSpec) Pod { t.Helper(); return a.kube.RunPod(t, spec) }
func (a *APINode) DeletePod(t testing.TB, pod Pod)       { t.Helper(); a.kube.DeletePod(t, pod) }
func (a *APINode) WaitPodRunning(t testing.TB, pod Pod, timeout time.Duration) {
	t.Helper()
	a.kube.WaitPodRunning(t, pod, timeout, func() string { return a.kubeletTail(pod) })
}
func (a *APINode) WaitPullFailed(t testing.TB, pod Pod, timeout time.Duration) PullFailure {
	t.Helper()
	return a.kube.WaitPullFailed(t, pod, timeout, func() string { return a.kubeletTail(pod) })
}
func (a *APINode) Kubectl(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	return a.kube.Kubectl(t, stdin, args...)
}
func (a *APINode) KubectlErr(t testing.TB, stdin []byte, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return a.kube.KubectlErr(ctx, stdin, args...)
}
func (a *APINode) PodEvents(t testing.TB, pod Pod) string {
	t.Helper()
	return a.kube.PodEvents(t, pod)
}
func (a *APINode) NodeName() string   { return a.kube.NodeName() }
func (a *APINode) Kubeconfig() string { return a.kube.Kubeconfig }

// waitDeleted waits until no pod of the namespaces remains (the kubelet
// finishes deleting them), so the next group starts from a quiet node.
func (k *Kube) waitNoPods(timeout time.Duration) error {
	return WaitFor(timeout, 250*time.Millisecond, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Pods a DaemonSet of kube-system runs on every node (kind's
		// kube-proxy) never leave it; they are not the cases' pods. A
		// DaemonSet's pod anywhere else (the deploy case's) is.
		out, err := k.KubectlErr(ctx, nil, "get", "pods", "-A", "--field-selector", "spec.nodeName="+k.Node, "-o",
			`jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.ownerReferences[*].kind}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		var left []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			name, owners, _ := strings.Cut(line, " ")
			if name != "" && !(strings.HasPrefix(name, "kube-system/") && slices.Contains(strings.Fields(owners), "DaemonSet")) {
				left = append(left, name)
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("pods left: %s", strings.Join(left, " "))
		}
		return true, nil
	})
}

// kubectlLogPath is where a workspace's kubectl calls are logged.
func kubectlLogPath(ws *Workspace) string { return filepath.Join(ws.LogDir, "kubectl.log") }
