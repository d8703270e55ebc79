package kube_test

// A differential test of our matching against the kubelet's own keyring.
//
// For every docker config of the table and every image, it compares
//
//	(a) what k8s.io/kubernetes/pkg/credentialprovider's BasicDockerKeyring
//	    returns for the image after Add()ing the file, as the kubelet's
//	    built-in node keyring reads it, with
//	(b) what the same keyring returns after Add()ing the auth map of OUR
//	    response for that image, which is what the kubelet does with a
//	    plugin's answer (pkg/credentialprovider/plugin: each key becomes a
//	    DockerConfigEntry, then Add and Lookup).
//
// The image goes through the kubelet's own parsers.ParseImageName first,
// as in the kubelet's image manager: that is the image the keyring is asked
// about and the image a plugin receives.
//
// (a) and (b) must hold the same username/password pairs, except where we
// differ on purpose; each such row names its reason and states both sides
// explicitly, so a difference that appears or disappears fails the test.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	credentialproviderv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/util/parsers"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/plugin"
)

// Deliberate differences, as documented in the README ("Entries we skip").
const (
	// An entry with neither username nor password: the kubelet hands it to
	// the runtime as an empty credential; we skip it so it cannot shadow a
	// real one (and then the Docker Hub fallback may apply).
	whyEmpty = "entries without username/password are skipped"
	// The kubelet's fallback treats an image whose first component has no
	// dot or colon (localhost/x) as Docker Hub and hands it the
	// index.docker.io credential; we never send Docker Hub credentials to
	// another registry.
	whyHubLeak = "no Docker Hub credentials for another registry"
	// A broken entry: the kubelet drops the whole file, we skip the entry.
	whyBroken = "a broken entry is skipped alone"
)

// cred is a username/password pair, the unit of comparison.
type cred struct{ user, pass string }

func (c cred) String() string { return fmt.Sprintf("%s/%s", c.user, c.pass) }

// deviation is a (config, image) pair where we differ from the kubelet on
// purpose: both sides are spelled out.
type deviation struct {
	why     string
	kubelet []cred
	ours    []cred
}

type parityCase struct {
	name string
	// file is a config.json ({"auths": ...}); with dockercfg, a legacy
	// .dockercfg (the bare map).
	file      string
	dockercfg bool
	images    []string
	// deviations by image as written in images.
	deviations map[string]deviation
}

func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }
func b64raw(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

// up is an entry with a username and password named after its key.
func up(name string) string {
	return fmt.Sprintf(`{"username":"u-%s","password":"p-%s"}`, name, name)
}
func c(name string) cred { return cred{"u-" + name, "p-" + name} }

// auths renders a config.json from key/entry pairs, in the given order.
func auths(kv ...string) string {
	var b strings.Builder
	b.WriteString(`{"auths":{`)
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", kv[i], kv[i+1])
	}
	b.WriteString("}}")
	return b.String()
}

// Images every case is asked about, besides its own.
var commonImages = []string{
	"nginx", "library/nginx:1.27", "docker.io/library/nginx", "index.docker.io/library/nginx",
	"team-a/app", "docker.io/team-a/app@sha256:" + strings.Repeat("ab", 32),
	"registry-1.docker.io/library/nginx",
	"localhost/x", "localhost:5000/x", "localhost:5443/team/x", "127.0.0.1:5000/x",
	"quay.io/team-a/app", "quay.io/team-ab/app", "quay.io/team-b/app", "quay.io/other/x",
	"reg.example.com/app", "reg.example.com:5443/team-a/app", "a.example.com/x", "a.b.example.com/x",
	"example.com/x", "Quay.io/team-a/app",
}

var parityCases = []parityCase{
	// Docker Hub keys in every spelling, each alone in its file.
	{name: "hub-docker.io", file: auths("docker.io", up("hub"))},
	{name: "hub-index.docker.io", file: auths("index.docker.io", up("hub")),
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hub")}, nil}}},
	{name: "hub-https-index-v1", file: auths("https://index.docker.io/v1/", up("hub")),
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hub")}, nil}}},
	{name: "hub-https-index-v2", file: auths("https://index.docker.io/v2/", up("hub")),
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hub")}, nil}}},
	{name: "hub-http-index-v1", file: auths("http://index.docker.io/v1/", up("hub")),
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hub")}, nil}}},
	{name: "hub-index-v1-no-scheme", file: auths("index.docker.io/v1/", up("hub")),
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hub")}, nil}}},
	{name: "hub-https-docker.io", file: auths("https://docker.io", up("hub"))},
	{name: "hub-registry-1", file: auths("registry-1.docker.io", up("hub"))},
	{name: "hub-docker.io-path", file: auths("docker.io/team-a", up("team-a"))},
	{name: "hub-docker.io-library-path", file: auths("https://docker.io/v2/library", up("library"))},
	{name: "hub-all-spellings-at-once", file: auths(
		"https://index.docker.io/v1/", up("index-v1"),
		"docker.io", up("docker-io"),
		"docker.io/team-a", up("team-a"),
		"registry-1.docker.io", up("registry-1"),
	), deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("index-v1")}, nil}}},

	// Ports and schemes.
	{name: "ports-and-schemes", file: auths(
		"localhost:5000", up("l5000"),
		"https://localhost:5443", up("l5443"),
		"http://localhost:5001/v2/", up("l5001"),
		"localhost", up("localhost"),
		"127.0.0.1:5000", up("ip5000"),
		"https://reg.example.com:5443/v1/", up("reg5443"),
	), images: []string{"localhost:5001/x", "localhost:5002/x", "reg.example.com:5443/x", "reg.example.com:443/x"}},

	// Paths: prefixes, several entries for one image, /v1/ and /v2/.
	{name: "paths", file: auths(
		"quay.io", up("quay"),
		"quay.io/team-a", up("team-a"),
		"quay.io/team-a/app", up("team-a-app"),
		"https://quay.io/v2/team-b", up("team-b"),
		"quay.io/team", up("team"),
		"reg.example.com/v2", up("reg-v2-no-slash"),
		"reg.example.com/v1/team-a/", up("reg-v1-team-a"),
	), images: []string{"quay.io/team-a/app-two", "quay.io/team-a/app/sub", "reg.example.com/v2/x", "reg.example.com/v2x", "reg.example.com/team-a/app"}},

	// Globs, one per host label.
	{name: "globs", file: auths(
		"*.example.com", up("star"),
		"reg-*.example.com", up("reg-star"),
		"*example.com", up("star-noddot"),
		"*.example.com:5443", up("star5443"),
		"[ab].example.com", up("class"),
		"*.*.example.com", up("star-star"),
		"*", up("bare-star"),
	), images: []string{"reg-1.example.com/x", "b.example.com:5443/x", "c.example.com/x", "aexample.com/x", "x.y.example.com/app", "docker.io/x/y"}},
	{name: "bad-glob", file: auths("[.example.com", up("bad"), "quay.io", up("quay"))},

	// The auth field: padded, unpadded, overriding username/password, a
	// colon in the password, an empty password, username only.
	{name: "auth-field", file: auths(
		"a.example.com", fmt.Sprintf(`{"auth":%q}`, b64("u-pad:p-pad")),
		"reg.example.com", fmt.Sprintf(`{"auth":%q}`, b64raw("u-raw:p-raw1")),
		"quay.io", fmt.Sprintf(`{"username":"ignored","password":"ignored","auth":%q}`, b64("u-auth:p:with:colons")),
		"localhost:5000", fmt.Sprintf(`{"auth":%q}`, b64("u-nopass:")),
		"localhost:5443", `{"username":"only-user"}`,
		"127.0.0.1:5000", `{"password":"only-password","email":"x@example.com"}`,
	)},

	// Empty entries: what docker login writes beside a credsStore, and
	// entries holding only a token.
	{name: "empty-entries", file: auths(
		"quay.io", `{}`,
		"quay.io/team-a", up("team-a"),
		"reg.example.com", `{"identitytoken":"tok"}`,
		"localhost:5000", `{"registrytoken":"tok","email":"x@example.com"}`,
	), deviations: map[string]deviation{
		"quay.io/team-a/app":      {whyEmpty, []cred{c("team-a"), {}}, []cred{c("team-a")}},
		"quay.io/team-ab/app":     {whyEmpty, []cred{c("team-a"), {}}, []cred{c("team-a")}}, // a path is a string prefix
		"quay.io/team-b/app":      {whyEmpty, []cred{{}}, nil},
		"quay.io/other/x":         {whyEmpty, []cred{{}}, nil},
		"reg.example.com/app":     {whyEmpty, []cred{{}}, nil},
		"localhost:5000/x":        {whyEmpty, []cred{{}}, nil},
		"reg.example.com/team/x":  {whyEmpty, []cred{{}}, nil},
		"quay.io/team-a/app-more": {whyEmpty, []cred{c("team-a"), {}}, []cred{c("team-a")}},
	}, images: []string{"reg.example.com/team/x", "quay.io/team-a/app-more"}},
	// An empty docker.io entry shadows the index.docker.io fallback in the
	// kubelet; we skip it, so the fallback answers.
	{name: "empty-entry-shadows-hub-fallback", file: auths("docker.io", `{}`, "https://index.docker.io/v1/", up("hub")),
		deviations: map[string]deviation{
			"nginx":                         {whyEmpty, []cred{{}}, []cred{c("hub")}},
			"library/nginx:1.27":            {whyEmpty, []cred{{}}, []cred{c("hub")}},
			"docker.io/library/nginx":       {whyEmpty, []cred{{}}, []cred{c("hub")}},
			"index.docker.io/library/nginx": {whyEmpty, []cred{{}}, []cred{c("hub")}},
			"team-a/app":                    {whyEmpty, []cred{{}}, []cred{c("hub")}},
			"docker.io/team-a/app@sha256:" + strings.Repeat("ab", 32): {whyEmpty, []cred{{}}, []cred{c("hub")}},
			"localhost/x": {whyHubLeak, []cred{c("hub")}, nil},
		}},

	// A broken entry: the kubelet drops the file, we keep the good entries.
	{name: "broken-base64", file: auths("reg.example.com", `{"auth":"!!!not-base64"}`, "quay.io", up("quay")),
		deviations: map[string]deviation{
			"quay.io/team-a/app":  {whyBroken, nil, []cred{c("quay")}},
			"quay.io/team-ab/app": {whyBroken, nil, []cred{c("quay")}},
			"quay.io/team-b/app":  {whyBroken, nil, []cred{c("quay")}},
			"quay.io/other/x":     {whyBroken, nil, []cred{c("quay")}},
		}},
	{name: "broken-type", file: auths("reg.example.com", `{"username":5}`, "localhost:5000", up("l5000")),
		deviations: map[string]deviation{"localhost:5000/x": {whyBroken, nil, []cred{c("l5000")}}}},

	// Keys that normalize to one key: the kubelet keeps every credential,
	// and so does our response, under spellings it reads back alike.
	{name: "same-key-twice", file: auths("reg.example.com", up("plain"), "https://reg.example.com/v1/", up("https-v1"))},
	{name: "same-key-stale-and-right", file: auths("https://quay.io/v1/", up("stale"), "quay.io", up("right"), "quay.io/team-a", up("team-a"), "https://quay.io/v2/team-a", up("team-a-v2"))},
	{name: "same-key-hub", file: auths("https://index.docker.io/v1/", up("login"), "index.docker.io", up("hand"), "http://index.docker.io/v2/", up("login")),
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hand"), c("login")}, nil}}},
	{name: "same-key-many", file: auths("localhost:5000", up("a"), "https://localhost:5000", up("b"), "http://localhost:5000/v2/", up("c"), "localhost:5000/", up("d"))},

	// Keys whose path itself starts with /v1/ or /v2/ once the kubelet has
	// stripped one: our response must spell them so that they survive the
	// kubelet stripping again.
	{name: "path-starts-with-v2", file: auths("https://quay.io/v1/v2/team", up("v2-team"), "quay.io/v2/v1/x", up("v1-x"), "https://reg.example.com/v2/v2/", up("reg-v2")),
		images: []string{"quay.io/v2/team/app", "quay.io/team/app", "quay.io/v1/x/app", "reg.example.com/v2/app", "reg.example.com/app"}},

	// "auths" written twice, or in another case: encoding/json, the
	// kubelet's reader, merges them, a later entry of one key winning.
	{name: "auths-twice", file: `{"auths":{"quay.io":` + up("first") + `,"localhost:5000":` + up("l5000") + `},"credsStore":"","auths":{"quay.io/team-a":` + up("team-a") + `,"reg.example.com":` + up("reg") + `}}`},
	{name: "auths-twice-same-key", file: `{"auths":{"quay.io":` + up("first") + `},"auths":{"quay.io":` + up("second") + `}}`},
	{name: "auths-other-case", file: `{"AUTHS":{"quay.io":` + up("upper") + `},"auths":{"localhost:5000":` + up("lower") + `},"Auths":{"reg.example.com":` + up("title") + `}}`},
	{name: "auths-null-then-object", file: `{"auths":{"quay.io":` + up("gone") + `},"auths":null,"Auths":{"reg.example.com":` + up("kept") + `}}`},

	// The legacy .dockercfg layout.
	{name: "dockercfg", dockercfg: true, file: `{"https://index.docker.io/v1/":` + up("hub") + `,"quay.io/team-a":` + up("team-a") +
		`,"localhost:5000":{"auth":"` + b64raw("u-l:p-l") + `","email":"x@example.com"}}`,
		deviations: map[string]deviation{"localhost/x": {whyHubLeak, []cred{c("hub")}, nil}}},
}

func TestKeyringParity(t *testing.T) {
	dir := t.TempDir()
	compared, deviated, withCreds := 0, 0, 0
	for i, tc := range parityCases {
		t.Run(tc.name, func(t *testing.T) {
			name := "config.json"
			if tc.dockercfg {
				name = ".dockercfg"
			}
			d := filepath.Join(dir, fmt.Sprintf("%02d", i))
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(d, name)
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			kubeletRing := kubeletKeyring(t, path, tc.dockercfg)
			images := append(append([]string(nil), commonImages...), tc.images...)
			for img := range tc.deviations {
				if !contains(images, img) {
					t.Errorf("deviation declared for %q, which is not among the images", img)
				}
			}
			answered := 0 // images either side has a credential for
			defer func() {
				withCreds += answered
				if answered == 0 {
					t.Errorf("no image of the case gets a credential: the case compares nothing")
				}
			}()
			for _, raw := range images {
				repo, _, _, err := parsers.ParseImageName(raw)
				if err != nil {
					t.Fatalf("the kubelet cannot parse %q: %v", raw, err)
				}
				kubelet := lookup(kubeletRing, repo)
				ours := lookup(oursKeyring(t, path, repo), repo)
				compared++
				if len(kubelet) > 0 || len(ours) > 0 {
					answered++
				}
				dev, declared := tc.deviations[raw]
				if !declared || dev.why == "" {
					if !equal(kubelet, ours) {
						t.Errorf("%s (%s): kubelet %v, ours %v", raw, repo, kubelet, ours)
					}
					continue
				}
				deviated++
				if want := set(dev.kubelet); !equal(kubelet, want) {
					t.Errorf("%s (%s): kubelet %v, the declared deviation (%s) says %v", raw, repo, kubelet, dev.why, want)
				}
				if want := set(dev.ours); !equal(ours, want) {
					t.Errorf("%s (%s): ours %v, the declared deviation (%s) says %v", raw, repo, ours, dev.why, want)
				}
			}
		})
	}
	t.Logf("%d (config, image) pairs compared, %d with a credential on some side, %d deliberate differences", compared, withCreds, deviated)
}

// kubeletKeyring reads the file as the kubelet's node keyring does.
func kubeletKeyring(t *testing.T, path string, dockercfg bool) *credentialprovider.BasicDockerKeyring {
	t.Helper()
	var cfg credentialprovider.DockerConfig
	var err error
	if dockercfg {
		cfg, err = credentialprovider.ReadDockercfgFile([]string{filepath.Dir(path)})
	} else {
		cfg, err = credentialprovider.ReadSpecificDockerConfigJSONFile(path)
	}
	ring := &credentialprovider.BasicDockerKeyring{}
	if err != nil {
		// The kubelet ignores a file it cannot parse: no credentials.
		t.Logf("the kubelet cannot read the file: %v", err)
		return ring
	}
	ring.Add(nil, cfg)
	return ring
}

// oursKeyring runs our plugin in-process for image (the request the kubelet
// would send, through the plugin's own request and response code) and
// loads the response's auth map into a keyring as the kubelet does.
func oursKeyring(t *testing.T, path, image string) *credentialprovider.BasicDockerKeyring {
	t.Helper()
	store := &provider.Store{Sources: []provider.Source{&dockerconfig.Source{Path: path}}, CacheDuration: time.Minute}
	req := fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":%q}`+"\n", image)
	var out bytes.Buffer
	_, o := plugin.Serve(strings.NewReader(req), &out, func(_ *plugin.Request, img string) (provider.Answer, error) {
		return store.Resolve(context.Background(), img), nil
	})
	ring := &credentialprovider.BasicDockerKeyring{}
	if o.Failed() {
		// Exit 1: the kubelet uses no credentials from us.
		if out.Len() > 0 {
			t.Fatalf("%s: the plugin failed (%s) but wrote %q", image, o.Error, out.String())
		}
		return ring
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	var resp credentialproviderv1.CredentialProviderResponse
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("%s: decoding our response: %v", image, err)
	}
	cfg := credentialprovider.DockerConfig{}
	for key, a := range resp.Auth {
		entry := credentialprovider.DockerConfigEntry{Username: a.Username, Password: a.Password}
		cfg[key] = entry
		// The kubelet would filter a key that does not apply to the image,
		// hiding it from the comparison; but we must not hand it a
		// credential it will not use either.
		alone := &credentialprovider.BasicDockerKeyring{}
		alone.Add(nil, credentialprovider.DockerConfig{key: entry})
		if found, _ := alone.Lookup(image); len(found) == 0 {
			t.Errorf("%s: our response has key %q, which the kubelet does not use for the image", image, key)
		}
	}
	ring.Add(nil, cfg)
	return ring
}

func lookup(ring *credentialprovider.BasicDockerKeyring, image string) []cred {
	found, _ := ring.Lookup(image)
	var out []cred
	for _, a := range found {
		out = append(out, cred{a.Username, a.Password})
	}
	return set(out)
}

// set sorts and de-duplicates.
func set(in []cred) []cred {
	m := map[cred]bool{}
	var out []cred
	for _, c := range in {
		if !m[c] {
			m[c] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func equal(a, b []cred) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
