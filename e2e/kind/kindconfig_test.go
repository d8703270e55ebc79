// Package kind_test checks e2e/kind/kind-config.yaml in seconds, without
// running kind (make e2e-kind runs it against a real cluster): decoded
// strictly with kind's own v1alpha4 types, as kind decodes it, its mounts,
// kubelet flags and containerd patches must line up with each other, with
// the kubelet's provider config and with what the harness (e2e/kind.go,
// run.sh, registry.sh) expects.
// It is its own module so that kind's dependencies never reach the plugin's.
package kind_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	yaml "go.yaml.in/yaml/v3"
	kubeletconfig "k8s.io/kubelet/config/v1"
	v1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	sigsyaml "sigs.k8s.io/yaml"
)

// What e2e/kind.go and run.sh assume.
const (
	hostDir        = "/tmp/ncp-e2e-kind"
	nodeBinDir     = "/usr/libexec/kubelet-image-credential-provider-plugins"
	nodeConfigDir  = "/etc/kubernetes/credential-providers"
	pluginName     = "node-credential-provider"
	registryHost   = "ncp-e2e-registry:5000"
	flagConfig     = "image-credential-provider-config"
	flagBinDir     = "image-credential-provider-bin-dir"
	kubeadmV1beta3 = "kubeadm.k8s.io/v1beta3"
)

// loadKindConfig decodes as kind's pkg/internal/apis/config/encoding does:
// yaml.v3 with KnownFields into v1alpha4.Cluster.
func loadKindConfig(t *testing.T) *v1alpha4.Cluster {
	t.Helper()
	raw, err := os.ReadFile("kind-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tm struct {
		Kind       string `yaml:"kind"`
		APIVersion string `yaml:"apiVersion"`
	}
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		t.Fatal(err)
	}
	if tm.Kind != "Cluster" || tm.APIVersion != "kind.x-k8s.io/v1alpha4" {
		t.Fatalf("kind %q apiVersion %q, want Cluster kind.x-k8s.io/v1alpha4", tm.Kind, tm.APIVersion)
	}
	var c v1alpha4.Cluster
	d := yaml.NewDecoder(bytes.NewReader(raw))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil {
		t.Fatalf("kind would refuse kind-config.yaml: %v", err)
	}
	return &c
}

func TestKindConfigMounts(t *testing.T) {
	c := loadKindConfig(t)
	if len(c.Nodes) == 0 {
		t.Fatal("no nodes")
	}
	want := map[string]string{ // containerPath -> hostPath
		nodeBinDir:                hostDir + "/provider-bin",
		nodeConfigDir:             hostDir + "/provider-config",
		hostDir + "/files":        hostDir + "/files", // same path: paths the cases write are valid on the node
		"/etc/containerd/certs.d": hostDir + "/certs.d",
	}
	workers := 0
	for i, n := range c.Nodes {
		if n.Role == v1alpha4.WorkerRole {
			workers++
		}
		got := map[string]string{}
		for _, m := range n.ExtraMounts {
			got[m.ContainerPath] = m.HostPath
		}
		for cp, hp := range want {
			if got[cp] != hp {
				t.Errorf("nodes[%d] (%s): %s mounted from %q, want %q", i, n.Role, cp, got[cp], hp)
			}
		}
	}
	if workers == 0 {
		t.Errorf("no worker node: run.sh binds pods to %s-worker and JoinConfiguration goes untested", c.Name)
	}
}

// TestKindConfigKubeletFlags: each kubeadm API version kind may generate
// gets both flags, for the control plane and the workers, naming the
// mounted folders; the v1beta4 JSON patches add to kind's own list
// instead of replacing it.
func TestKindConfigKubeletFlags(t *testing.T) {
	c := loadKindConfig(t)
	wantFlags := map[string]string{flagConfig: nodeConfigDir, flagBinDir: nodeBinDir}

	// kubeadm v1beta4: a list of name/value, patched with JSON 6902 adds.
	for _, kind := range []string{"InitConfiguration", "JoinConfiguration"} {
		var found *v1alpha4.PatchJSON6902
		for i := range c.KubeadmConfigPatchesJSON6902 {
			p := &c.KubeadmConfigPatchesJSON6902[i]
			if p.Group == "kubeadm.k8s.io" && p.Version == "v1beta4" && p.Kind == kind {
				found = p
			}
		}
		if found == nil {
			t.Errorf("no kubeadm.k8s.io/v1beta4 %s JSON 6902 patch", kind)
			continue
		}
		patchJSON, err := sigsyaml.YAMLToJSON([]byte(found.Patch))
		if err != nil {
			t.Fatalf("%s patch: %v", kind, err)
		}
		patch, err := jsonpatch.DecodePatch(patchJSON)
		if err != nil {
			t.Fatalf("%s patch: %v", kind, err)
		}
		// What kind generates (its own args must survive).
		doc := `{"apiVersion":"kubeadm.k8s.io/v1beta4","kind":"` + kind + `","nodeRegistration":{"kubeletExtraArgs":[` +
			`{"name":"node-ip","value":"172.18.0.2"},{"name":"provider-id","value":"kind://docker/ncp-e2e/n"},{"name":"node-labels","value":""}]}}`
		out, err := patch.Apply([]byte(doc))
		if err != nil {
			t.Fatalf("applying the %s patch to kind's document: %v", kind, err)
		}
		var patched struct {
			NodeRegistration struct {
				KubeletExtraArgs []struct{ Name, Value string } `json:"kubeletExtraArgs"`
			} `json:"nodeRegistration"`
		}
		if err := json.Unmarshal(out, &patched); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range patched.NodeRegistration.KubeletExtraArgs {
			got[a.Name] = a.Value
		}
		for _, keep := range []string{"node-ip", "provider-id", "node-labels"} {
			if _, ok := got[keep]; !ok {
				t.Errorf("v1beta4 %s: the patch drops kind's %s", kind, keep)
			}
		}
		for f, v := range wantFlags {
			if got[f] != v {
				t.Errorf("v1beta4 %s: --%s=%q, want %q", kind, f, got[f], v)
			}
		}
	}

	// kubeadm v1beta3: a map, merged.
	seen := map[string]bool{}
	for i, p := range c.KubeadmConfigPatches {
		var doc struct {
			APIVersion       string `json:"apiVersion"`
			Kind             string `json:"kind"`
			NodeRegistration struct {
				KubeletExtraArgs map[string]string `json:"kubeletExtraArgs"`
			} `json:"nodeRegistration"`
		}
		if err := sigsyaml.UnmarshalStrict([]byte(p), &doc); err != nil {
			t.Errorf("kubeadmConfigPatches[%d]: %v", i, err)
			continue
		}
		if doc.APIVersion != kubeadmV1beta3 {
			// Without apiVersion a merge patch applies to every version,
			// and on v1beta4 a map would break kind's list.
			t.Errorf("kubeadmConfigPatches[%d]: apiVersion %q, want %s", i, doc.APIVersion, kubeadmV1beta3)
		}
		seen[doc.Kind] = true
		for f, v := range wantFlags {
			if got := doc.NodeRegistration.KubeletExtraArgs[f]; got != v {
				t.Errorf("kubeadmConfigPatches[%d] (%s): --%s=%q, want %q", i, doc.Kind, f, got, v)
			}
		}
	}
	for _, kind := range []string{"InitConfiguration", "JoinConfiguration"} {
		if !seen[kind] {
			t.Errorf("no v1beta3 %s patch", kind)
		}
	}
}

// TestProviderConfigLinesUp: the kubelet's initial provider config (copied
// into provider-config/ by run.sh) is valid for the kubelet, names the
// binary run.sh installs, matches the registry registry.sh starts, and its
// files are under a mounted folder.
func TestProviderConfigLinesUp(t *testing.T) {
	raw, err := os.ReadFile("credential-provider-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg kubeletconfig.CredentialProviderConfig
	if err := sigsyaml.UnmarshalStrict(raw, &cfg); err != nil {
		t.Fatalf("the kubelet would refuse credential-provider-config.yaml: %v", err)
	}
	if cfg.Kind != "CredentialProviderConfig" || cfg.APIVersion != "kubelet.config.k8s.io/v1" || len(cfg.Providers) != 1 {
		t.Fatalf("want one provider in a kubelet.config.k8s.io/v1 CredentialProviderConfig, got %s %s with %d", cfg.APIVersion, cfg.Kind, len(cfg.Providers))
	}
	p := cfg.Providers[0]
	if p.Name != pluginName || p.DefaultCacheDuration == nil || p.APIVersion == "" {
		t.Errorf("provider %q (defaultCacheDuration %v, apiVersion %q): want %q with both set", p.Name, p.DefaultCacheDuration, p.APIVersion, pluginName)
	}
	if len(p.MatchImages) != 1 || p.MatchImages[0] != registryHost {
		t.Errorf("matchImages %v, want [%s]", p.MatchImages, registryHost)
	}
	for _, a := range p.Args {
		if _, path, ok := strings.Cut(a, "="); ok && strings.HasPrefix(path, "/") && !strings.HasPrefix(path, hostDir+"/files/") {
			t.Errorf("argument %q names a file outside the mounted %s/files", a, hostDir)
		}
	}
	for file, wants := range map[string][]string{
		"run.sh":      {hostDir, "provider-bin/" + pluginName, "credential-provider-config.yaml", "kind-config.yaml"},
		"registry.sh": {"name=ncp-e2e-registry", `host="$name:5000"`, "certs.d/$host"},
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s does not contain %q", file, w)
			}
		}
	}
}
