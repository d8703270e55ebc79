//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/config"
)

// Cluster is all a test case may use. The standalone kubelet in node.go
// implements it; a kind-based harness can implement it too and reuse the
// cases unchanged.
type Cluster interface {
	// Registry is the password-protected registry the node pulls from.
	Registry() Registry

	// PluginPath is the plugin binary under test, on the machine running
	// the tests.
	PluginPath() string

	// InstallProvider puts the executable at src (on the machine running
	// the tests) into the kubelet's provider bin dir under name (the name a
	// CredentialProviderConfig uses) and returns its path on the node.
	InstallProvider(t testing.TB, name, src string) string

	// WriteFile writes content to a file called name in a per-test folder
	// on the node and returns its path there (what a plugin argument names).
	WriteFile(t testing.TB, name string, content []byte) string

	// RunOnNode runs a command on the node, with env added to the node's
	// environment and stdin (may be nil), and returns its combined output.
	RunOnNode(t testing.TB, env []string, stdin []byte, argv ...string) (string, error)

	// ReadFile reads a file on the node (one a case's script wrote); a
	// missing file reads as empty.
	ReadFile(t testing.TB, path string) []byte

	// WriteDockerConfig writes a docker config.json holding auths and
	// returns its path on the node.
	WriteDockerConfig(t testing.TB, name string, auths map[string]DockerAuth) string

	// SetProviderConfig gives the kubelet a new CredentialProviderConfig
	// (one file, or a drop-in directory) and restarts it so it is read.
	// A restart also empties the kubelet's in-memory credential cache.
	SetProviderConfig(t testing.TB, cfg ProviderConfigSet)

	// RunPod starts a pod and returns its handle. The pod is removed when
	// the test ends.
	RunPod(t testing.TB, spec PodSpec) Pod

	// WaitPodRunning waits until every container of the pod runs.
	WaitPodRunning(t testing.TB, pod Pod, timeout time.Duration)

	// WaitPullFailed waits until a container of the pod cannot pull its
	// image and returns what the kubelet reported.
	WaitPullFailed(t testing.TB, pod Pod, timeout time.Duration) PullFailure

	// DeletePod removes the pod.
	DeletePod(t testing.TB, pod Pod)

	// RemoveImage removes the image from the node's runtime, so the next
	// pull really goes to the registry.
	RemoveImage(t testing.TB, image string)

	// KubeletLog returns the kubelet's log so far, for cases that check
	// why something happened (the kubelet logs why it dropped a response).
	KubeletLog(t testing.TB) string
}

// Registry is a private registry that demands a user and password.
type Registry interface {
	// Host is host:port as it appears in image names.
	Host() string
	// Username and Password are the right credentials.
	Username() string
	Password() string
	// Image is the full name of an image pushed at setup, e.g. Image("lab/busybox").
	Image(repo string) string
	// FreshImage pushes the test image under a repository name no test has
	// used yet and returns its full name. The kubelet caches credentials per
	// image, and a node may already hold an image: distinct names keep cases
	// independent.
	FreshImage(t testing.TB, hint string) string
	// SetUser adds a user with password, or changes the password of one,
	// and makes the registry use it.
	SetUser(t testing.TB, user, password string)
}

// DockerAuth is one entry of a docker config.json "auths" map.
type DockerAuth struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// PodSpec is the little of a pod the cases vary.
type PodSpec struct {
	// Name is a prefix; the harness makes it unique (a static pod's identity
	// is a hash of its manifest, and a reused name inherits back-off).
	Name      string
	Namespace string // default "default"
	Image     string
	// Command defaults to a long sleep.
	Command []string
	// ServiceAccountName and ImagePullSecrets need an API server (APICluster).
	ServiceAccountName string
	ImagePullSecrets   []string
	Annotations        map[string]string
	// PullPolicy is the container's imagePullPolicy; default Always, so
	// that every case's pod asks the plugin.
	PullPolicy string
}

// pullPolicy is the imagePullPolicy of the pod's container.
func (s PodSpec) pullPolicy() string {
	if s.PullPolicy == "" {
		return "Always"
	}
	return s.PullPolicy
}

// identity is what every harness derives from a spec: the namespace, a name
// made unique with seq, and the command.
func (s PodSpec) identity(seq int) (namespace, name string, command []string) {
	namespace, command = s.Namespace, s.Command
	if namespace == "" {
		namespace = "default"
	}
	if len(command) == 0 {
		command = []string{"sleep", "3600"}
	}
	return namespace, fmt.Sprintf("%s-%03d", sanitize(s.Name), seq), command
}

// dockerConfigJSON renders a docker config.json holding auths.
func dockerConfigJSON(t testing.TB, auths map[string]DockerAuth) []byte {
	t.Helper()
	if auths == nil {
		auths = map[string]DockerAuth{}
	}
	data, err := json.MarshalIndent(map[string]any{"auths": auths}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// APICluster is a Cluster whose node is registered to an API server: pods
// are API objects (bound to the node by name), with service accounts and
// imagePullSecrets. The local control plane and a kind cluster implement it.
type APICluster interface {
	Cluster

	// Kubectl runs kubectl as a cluster admin with stdin (may be nil) and
	// returns its stdout; it fails the test on error. KubectlErr returns
	// the error instead.
	Kubectl(t testing.TB, stdin []byte, args ...string) string
	KubectlErr(t testing.TB, stdin []byte, args ...string) (string, error)

	// PodEvents returns the pod's events as "Reason: message" lines.
	PodEvents(t testing.TB, pod Pod) string

	// NodeName is the node's name in the API.
	NodeName() string

	// Kubeconfig is a cluster-admin kubeconfig on the machine running the tests.
	Kubeconfig() string
}

// Pod identifies a pod the harness started.
type Pod struct {
	Name      string
	Namespace string
	Image     string
}

// PullFailure is what the kubelet reported for a container that could not
// pull its image.
type PullFailure struct {
	Reason  string // ErrImagePull or ImagePullBackOff
	Message string
}

// ProviderConfigSet is how the kubelet gets its CredentialProviderConfig:
// one file (Dir false, exactly one entry in Files) or a drop-in directory
// (Dir true), which the kubelet reads in sorted file-name order.
type ProviderConfigSet struct {
	Dir   bool
	Files []ProviderConfigFile
}

// ProviderConfigFile is one config file. Raw, when set, is written as is
// (to test what the kubelet does with a broken file); otherwise Config is.
type ProviderConfigFile struct {
	Name   string // e.g. "20-ncp.json"; in file mode only the extension matters
	Config CredentialProviderConfig
	Raw    []byte
}

// The kubelet's CredentialProviderConfig, as the product reads it (its
// types are checked against k8s.io/kubelet/config/v1 in package config).
type (
	CredentialProviderConfig = config.KubeletConfig
	CredentialProvider       = config.KubeletProvider
	ExecEnvVar               = config.KubeletEnvVar
	TokenAttributes          = config.KubeletTokenAttrs
)

// duration is a provider's defaultCacheDuration, which the kubelet requires.
func duration(s string) *string { return &s }

// The API versions the kubelet and the plugin speak.
const (
	KubeletConfigV1            = "kubelet.config.k8s.io/v1"
	CredentialProviderV1       = "credentialprovider.kubelet.k8s.io/v1"
	CredentialProviderV1beta1  = "credentialprovider.kubelet.k8s.io/v1beta1"
	CredentialProviderV1alpha1 = "credentialprovider.kubelet.k8s.io/v1alpha1"
)

// NewProviderConfig wraps providers in a CredentialProviderConfig.
func NewProviderConfig(providers ...CredentialProvider) CredentialProviderConfig {
	return CredentialProviderConfig{APIVersion: KubeletConfigV1, Kind: "CredentialProviderConfig", Providers: providers}
}

// SingleFile is a ProviderConfigSet of one file.
func SingleFile(cfg CredentialProviderConfig) ProviderConfigSet {
	return ProviderConfigSet{Files: []ProviderConfigFile{{Name: "credential-provider-config.json", Config: cfg}}}
}
