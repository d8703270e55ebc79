package kube_test

// Our podman source against containers/image v5, which podman, buildah,
// skopeo and CRI-O use to read auth.json (pkg/docker/config), followed
// through the kubelet: for every auth.json of the table and every image,
// the credential containers/image picks must be exactly what the kubelet's
// keyring finds for the image in our response. And keys that our sources
// answer under (podman keys, static matchImages) must come back from the
// kubelet as the key we matched.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	imageconfig "github.com/containers/image/v5/pkg/docker/config"
	"github.com/containers/image/v5/types"
	credentialproviderv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/util/parsers"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/plugin"
	"github.com/node-credential-provider/node-credential-provider/provider/podman"
	"github.com/node-credential-provider/node-credential-provider/provider/static"
)

var podmanImages = []string{
	"docker.io/library/nginx", "docker.io/team-a/app", "registry-1.docker.io/library/nginx", "registry-1.docker.io/team-a/app",
	"quay.io/app", "quay.io/team-a/app", "quay.io/team-a/app/sub", "quay.io/team-ab/app", "quay.io/v2/team/app", "quay.io/team/app",
	"localhost:5000/x", "localhost:5000/team/x", "reg.example.com/app",
}

// pa is an entry as `podman login` writes it: containers/image reads only
// "auth" (and identitytoken), never username and password.
func pa(name string) string { return fmt.Sprintf(`{"auth":%q}`, b64("u-"+name+":p-"+name)) }

var podmanCases = []struct {
	name string
	file string
}{
	{"namespaces", auths("quay.io", pa("quay"), "quay.io/team-a", pa("team-a"), "quay.io/team-a/app", pa("team-a-app"), "localhost:5000/team", pa("l-team"))},
	{"legacy-keys", auths("https://quay.io/v1/", pa("quay-legacy"), "http://localhost:5000/v2/", pa("l5000"), "https://reg.example.com/team-a", pa("reg"))},
	{"path-starts-with-v2", auths("quay.io/v2/team", pa("v2-team"), "quay.io/v2", pa("v2"))},
	{"hub-docker.io", auths("docker.io", pa("hub"))},
	{"hub-index", auths("index.docker.io", pa("hub"))},
	{"hub-index-v1", auths("https://index.docker.io/v1/", pa("hub"))},
	{"hub-registry-1", auths("registry-1.docker.io", pa("hub"))},
	{"hub-registry-1-https", auths("https://registry-1.docker.io/v2/", pa("hub"))},
	{"hub-registry-1-and-namespace", auths("registry-1.docker.io/team-a", pa("team-a"), "docker.io/team-a", pa("hub-team-a"))},
	{"hub-registry-1-beside-docker.io", auths("registry-1.docker.io", pa("r1"), "docker.io/library", pa("library"))},
	{"hub-namespaced", auths("docker.io/team-a", pa("team-a"), "docker.io", pa("hub"))},
	{"empty-most-specific", auths("quay.io/team-a", `{}`, "quay.io", pa("quay"))},
}

// An auth.json entry with username and password but no "auth" (written by
// hand, or copied from a docker config): containers/image ignores it, we
// use it, as the kubelet and docker would (README, podman).
func TestPodmanUsernamePasswordEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(auths("quay.io", up("quay"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := containersImage(t, path, "quay.io/app"); got != (cred{}) {
		t.Errorf("containers/image now reads username/password (%v): drop the deviation", got)
	}
	if got := viaKubelet(t, &podman.Source{Path: path}, "quay.io/app"); len(got) != 1 || got[0] != c("quay") {
		t.Errorf("the kubelet gets %v from us, want %v", got, c("quay"))
	}
}

// containersImage asks containers/image for image's credential with file as
// the only auth file and no registries.conf helpers.
func containersImage(t *testing.T, file, image string) cred {
	t.Helper()
	conf := filepath.Join(filepath.Dir(file), "registries.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sys := &types.SystemContext{AuthFilePath: file, SystemRegistriesConfPath: conf, SystemRegistriesConfDirPath: filepath.Join(filepath.Dir(file), "none")}
	var first cred
	for i := 0; i < 8; i++ { // its normalized pass walks a map: an ambiguous case would show here
		a, err := imageconfig.GetCredentials(sys, image)
		if err != nil {
			t.Fatalf("containers/image, %s: %v", image, err)
		}
		got := cred{a.Username, a.Password}
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("containers/image answers %s with %v or %v: the case is ambiguous, fix the table", image, first, got)
		}
	}
	return first
}

// viaKubelet runs src in-process for image, as plugin mode does, and returns
// what the kubelet's keyring finds for image in the response.
func viaKubelet(t *testing.T, src provider.Source, image string) []cred {
	t.Helper()
	store := &provider.Store{Sources: []provider.Source{src}, CacheDuration: time.Minute}
	req := fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":%q}`+"\n", image)
	var out bytes.Buffer
	if _, o := plugin.Serve(strings.NewReader(req), &out, func(_ *plugin.Request, img string) (provider.Answer, error) {
		return store.Resolve(context.Background(), img), nil
	}); o.Failed() {
		return nil // exit 1: the kubelet uses nothing from us
	}
	var resp credentialproviderv1.CredentialProviderResponse
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("%s: decoding our response: %v", image, err)
	}
	cfg := credentialprovider.DockerConfig{}
	for key, a := range resp.Auth {
		cfg[key] = credentialprovider.DockerConfigEntry{Username: a.Username, Password: a.Password}
	}
	ring := &credentialprovider.BasicDockerKeyring{}
	ring.Add(nil, cfg)
	return lookup(ring, image)
}

func TestPodmanParity(t *testing.T) {
	dir := t.TempDir()
	compared, answered := 0, 0
	for i, tc := range podmanCases {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(dir, fmt.Sprint(i))
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(d, "auth.json")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			some := false
			for _, image := range podmanImages {
				repo, _, _, err := parsers.ParseImageName(image)
				if err != nil || repo != image {
					t.Fatalf("the kubelet sends %q for %q (%v): fix the table", repo, image, err)
				}
				want := containersImage(t, path, image)
				got := viaKubelet(t, &podman.Source{Path: path}, image)
				compared++
				if want == (cred{}) {
					if len(got) != 0 {
						t.Errorf("%s: containers/image has no credential, the kubelet gets %v from us", image, got)
					}
					continue
				}
				some = true
				answered++
				if len(got) != 1 || got[0] != want {
					t.Errorf("%s: containers/image uses %v, the kubelet gets %v from us", image, want, got)
				}
			}
			if !some {
				t.Errorf("no image of the case has a credential: the case compares nothing")
			}
		})
	}
	t.Logf("%d (auth.json, image) pairs compared, %d with a credential", compared, answered)
}

// TestStaticKeysRoundTrip: a static source answers under its matchImages
// pattern, and the kubelet must read the key back as that pattern.
func TestStaticKeysRoundTrip(t *testing.T) {
	dir := t.TempDir()
	user, pass := filepath.Join(dir, "u"), filepath.Join(dir, "p")
	for p, v := range map[string]string{user: "robot", pass: "secret"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		pattern string
		image   string
	}{
		{"quay.io/v2/team", "quay.io/v2/team/app"},
		{"quay.io/v1/", "quay.io/v1/x"},
		{"quay.io/team", "quay.io/team/app"},
		{"quay.io", "quay.io/v2/app"},
		{"localhost:5000/v2/v1/x", "localhost:5000/v2/v1/x/y"},
		{"*.example.com/v2/a", "reg.example.com/v2/a/b"},
	} {
		src, err := static.New([]string{tc.pattern}, user, pass)
		if err != nil {
			t.Fatal(err)
		}
		if got := viaKubelet(t, src, tc.image); len(got) != 1 || got[0] != (cred{"robot", "secret"}) {
			t.Errorf("matchImages %q, image %s: the kubelet finds %v in our response", tc.pattern, tc.image, got)
		}
	}
}
