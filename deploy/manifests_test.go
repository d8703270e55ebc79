// Package deploy holds the manifests of deploy/ and the checks that keep them
// honest: they decode strictly with the API's own types, keep the promises
// deploy/README.md makes, and the uninstall Job agrees with the DaemonSet.
// `kubectl kustomize` and the API server's own validation (server-side dry
// run) check them in the e2e suite.
package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/config"
)

// decode reads one manifest file (documents split on "---") strictly into out.
func decode(t *testing.T, file string, out ...any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != len(out) {
		t.Fatalf("%s: %d documents, want %d", file, len(docs), len(out))
	}
	for i, d := range docs {
		if err := yaml.UnmarshalStrict([]byte(d), out[i]); err != nil {
			t.Fatalf("%s document %d: %v", file, i+1, err)
		}
	}
}

func daemonSet(t *testing.T) *appsv1.DaemonSet {
	var ds appsv1.DaemonSet
	decode(t, "daemonset.yaml", &ds)
	return &ds
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewTag  string `json:"newTag"`
			NewName string `json:"newName"`
		} `json:"images"`
	}
	decode(t, "kustomization.yaml", &k)
	files, _ := filepath.Glob("*.yaml")
	var want []string
	for _, f := range files {
		if f != "kustomization.yaml" {
			want = append(want, f)
		}
	}
	got := append([]string(nil), k.Resources...)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("kustomization resources %v, files %v", k.Resources, want)
	}
	var ns corev1.Namespace
	decode(t, "namespace.yaml", &ns)
	if k.Namespace != ns.Name {
		t.Errorf("kustomization namespace %q, Namespace %q", k.Namespace, ns.Name)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Error("hostPath and hostNetwork need the privileged Pod Security level on the namespace")
	}
	// The image the DaemonSet names is the one the kustomization pins.
	ds := daemonSet(t)
	if len(k.Images) != 1 || k.Images[0].Name != ds.Spec.Template.Spec.InitContainers[0].Image || k.Images[0].NewTag == "" {
		t.Errorf("kustomization images %+v, init container image %q", k.Images, ds.Spec.Template.Spec.InitContainers[0].Image)
	}
}

func TestDaemonSet(t *testing.T) {
	ds := daemonSet(t)
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "1" {
		t.Errorf("update strategy %+v: want RollingUpdate with maxUnavailable 1, so kubelets restart one node at a time", ds.Spec.UpdateStrategy)
	}
	if ru != nil && ru.MaxSurge != nil && ru.MaxSurge.String() != "0" {
		t.Errorf("maxSurge %s: two install pods on one node would race", ru.MaxSurge)
	}
	pod := ds.Spec.Template.Spec
	tolerateAll := false
	for _, tol := range pod.Tolerations {
		if tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == "" {
			tolerateAll = true
		}
	}
	if !tolerateAll {
		t.Errorf("tolerations %+v: want one with operator Exists and no key or effect (every taint)", pod.Tolerations)
	}
	if pod.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector %v: the image is linux-only", pod.NodeSelector)
	}
	if !pod.HostNetwork {
		t.Error("install waits for the kubelet's healthz on 127.0.0.1: hostNetwork")
	}
	if pod.HostPID || pod.HostIPC {
		t.Error("install needs neither the host's PID nor IPC namespace")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod never talks to the API server: no service-account token")
	}
	if len(pod.InitContainers) != 1 || len(pod.Containers) != 1 {
		t.Fatalf("%d init containers, %d containers: want the install and one that holds the pod Ready", len(pod.InitContainers), len(pod.Containers))
	}
	in := pod.InitContainers[0]
	if len(in.Args) < 3 || in.Args[0] != "install" || in.Args[1] != "--root=/host" || in.Args[2] != "--restart" {
		t.Errorf("install args %v: want install --root=/host --restart first", in.Args)
	}
	checkLeastPrivilege(t, "install", in)
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: resources %+v: want cpu and memory requests and a memory limit", c.Name, c.Resources)
		}
	}
	if sc := pod.Containers[0].SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pause container runs as root")
	}
	// Every mount is a volume, every hostPath volume is mounted at its own path under /host, read-only where
	// README says so.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	readOnly := map[string]bool{"/proc": true, "/usr": true, "/lib": true, "/lib64": true, "/bin": true, "/sbin": true, "/run/systemd": true, "/var/lib/kubelet": true}
	for _, m := range in.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			t.Errorf("mount %s: no volume", m.Name)
			continue
		}
		if v.HostPath == nil {
			continue
		}
		if m.MountPath != "/host"+v.HostPath.Path {
			t.Errorf("volume %s: host %s mounted at %s, want /host%s", m.Name, v.HostPath.Path, m.MountPath, v.HostPath.Path)
		}
		if readOnly[v.HostPath.Path] != m.ReadOnly {
			t.Errorf("volume %s (%s): readOnly %v", m.Name, v.HostPath.Path, m.ReadOnly)
		}
		if v.HostPath.Path == "/" {
			t.Error("the host's whole / is mounted")
		}
	}
	if len(in.VolumeMounts) != len(pod.Volumes) {
		t.Errorf("%d mounts, %d volumes", len(in.VolumeMounts), len(pod.Volumes))
	}
}

func checkLeastPrivilege(t *testing.T, name string, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("%s: no securityContext", name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: privileged", name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation not false", name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: root filesystem writable", name)
	}
	// SYS_CHROOT alone: the restart command runs chrooted into /host.
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !reflect.DeepEqual(sc.Capabilities.Add, []corev1.Capability{"SYS_CHROOT"}) {
		t.Errorf("%s: capabilities %+v, want all dropped and SYS_CHROOT added", name, sc.Capabilities)
	}
}

func TestUninstallJobMatchesDaemonSet(t *testing.T) {
	ds := daemonSet(t)
	var job batchv1.Job
	decode(t, "uninstall/job.yaml", &job)
	pod, dsPod := job.Spec.Template.Spec, ds.Spec.Template.Spec
	if pod.NodeName != "NODE_NAME" || pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("nodeName %q (the README's sed replaces NODE_NAME), restartPolicy %q", pod.NodeName, pod.RestartPolicy)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Error("a failed uninstall rolled back already: backoffLimit 0")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c, in := pod.Containers[0], dsPod.InitContainers[0]
	if len(c.Args) < 3 || c.Args[0] != "uninstall" || !reflect.DeepEqual(c.Args[1:3], in.Args[1:3]) {
		t.Errorf("uninstall args %v; install's %v", c.Args, in.Args)
	}
	if !strings.HasPrefix(c.Image, in.Image+":") {
		t.Errorf("uninstall image %q is not the DaemonSet's %q", c.Image, in.Image)
	}
	for what, pair := range map[string][2]any{
		"volumeMounts":    {c.VolumeMounts, in.VolumeMounts},
		"volumes":         {pod.Volumes, dsPod.Volumes},
		"securityContext": {c.SecurityContext, in.SecurityContext},
		"resources":       {c.Resources, in.Resources},
		"tolerations":     {pod.Tolerations, dsPod.Tolerations},
		"hostNetwork":     {pod.HostNetwork, dsPod.HostNetwork},
		"serviceAccount":  {pod.ServiceAccountName, dsPod.ServiceAccountName},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("the uninstall Job's %s differ from the DaemonSet's:\n%+v\n%+v", what, pair[0], pair[1])
		}
	}
}

// The ClusterRole names the audience the kubelet's tokenAttributes ask for in
// our example, and binds it to every node.
func TestTokenAudienceRBAC(t *testing.T) {
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	decode(t, "rbac.yaml", &role, &binding)
	providers, err := config.LoadKubelet(filepath.Join("..", "config", "examples", "kubelet-credential-provider-config-tokens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(providers) != 1 || providers[0].TokenAttributes == nil {
		t.Fatalf("the token example has no tokenAttributes: %+v", providers)
	}
	aud := providers[0].TokenAttributes.ServiceAccountTokenAudience
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{aud}, Verbs: []string{"request-serviceaccounts-token-audience"}}}
	if !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("ClusterRole rules %+v, want %+v", role.Rules, want)
	}
	if binding.RoleRef.Kind != "ClusterRole" || binding.RoleRef.Name != role.Name {
		t.Errorf("binding refers to %+v, not %s", binding.RoleRef, role.Name)
	}
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "Group" || binding.Subjects[0].Name != "system:nodes" {
		t.Errorf("binding subjects %+v: want the group system:nodes", binding.Subjects)
	}
}
