//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PodReaderCases attack the node-local cache from a pod's place.
var PodReaderCases = []Case{
	{"pod-reads-no-secret-from-node-cache", casePodReadsNoCachedSecret},
}

// TestPodReader runs PodReaderCases, counted with the others.
func TestPodReader(t *testing.T) {
	runCases(t, PodReaderCases, cluster)
}

// The adversary of the cache's threat model (issue #10): a container as a
// pod runs by default, under the node's own runc: `runc spec`'s bundle as
// it comes (uid 0 in the host user namespace, no seccomp profile, three
// capabilities, no host mounts; only its command and terminal changed), and
// in it podreader, which walks every keyring it can reach and every file in
// its mount namespace for the marker secret, plain and base64.
//
// The marker is a credential in a real pass store, asked for through a
// counting wrapper of docker-credential-pass and cached by the plugin. The
// second request must come from the cache (one helper call in all), the
// reader must reach the cache's keyring and read its entry (so it looked
// where the secret is), and find nothing: what the kernel keeps is sealed,
// and the key is in a host file the container cannot see. Every file the
// plugin process writes, anywhere, is read for the marker too (podreader
// watch, with fanotify).
func casePodReadsNoCachedSecret(t *testing.T, c Cluster) {
	if local.node == nil {
		// A kind node is itself a privileged container; its runc is not
		// the runtime this case is about.
		t.Skip("needs the local harness (e2e/run.sh): runc on this machine runs the pod")
	}
	if _, err := c.RunOnNode(t, nil, nil, "sh", "-c", "command -v runc"); err != nil {
		t.Fatalf("runc is not on the node (e2e/install-deps.sh installs Debian's): %v", err)
	}
	var raw [12]byte
	rand.Read(raw[:])
	marker := "ncp-e2e-marker-" + hex.EncodeToString(raw[:])
	// podreader takes the marker reversed, in hex: its command line (which
	// the reader sees in /proc) never holds it in a form looked for.
	rev := []byte(marker)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	markerHex := hex.EncodeToString(rev)

	const server = "marker.example"
	env := passStore(t, c)
	storeInPass(t, c, env, server, "marker-user", marker)
	calls := c.WriteFile(t, "helper-calls.log", nil)
	wrapper := fmt.Sprintf("#!/bin/sh\n# Counts helper calls, then runs the real helper.\necho \"$1\" >>%q\nexec docker-credential-pass \"$@\"\n", calls)
	binDir := filepath.Dir(c.InstallProvider(t, "docker-credential-ncpmark", writeTemp(t, "docker-credential-ncpmark", wrapper)))
	dockerCfg := c.WriteFile(t, "mark/config.json", []byte(fmt.Sprintf(`{"auths":{%q:{}},"credsStore":"ncpmark"}`, server)))
	cacheDir := filepath.Dir(c.WriteFile(t, "cache/.keep", nil))
	cfg := c.WriteFile(t, "ncp-config.yaml", []byte(helperConfig(dockerCfg, "ncpmark", env,
		fmt.Sprintf("cache: {dir: %s, ttl: 10m}\n", cacheDir))))
	purgeCache(t, c, cfg)
	plugin := c.InstallProvider(t, "ncp-podreader-plugin", c.PluginPath())
	reader := c.InstallProvider(t, "ncp-podreader", buildPodReader(t))

	// Two requests, as two image pulls, each a plugin process of its own,
	// each watched for the files it writes.
	request := []byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + server + `/app:1"}` + "\n")
	pathEnv := []string{"PATH=" + binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for i := 1; i <= 2; i++ {
		report := c.WriteFile(t, fmt.Sprintf("watch-%d.json", i), nil)
		out, err := c.RunOnNode(t, pathEnv, request, reader, "watch", "-report", report, markerHex, "--", plugin, "--config", cfg)
		if err != nil {
			t.Fatalf("request %d: %s", i, strings.ReplaceAll(err.Error(), marker, "***"))
		}
		var resp struct {
			Auth map[string]struct{ Username, Password string }
		}
		line := out[strings.Index(out, "{"):]
		if err := json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &resp); err != nil {
			t.Fatalf("request %d: no response: %v", i, err)
		}
		if a := resp.Auth[server]; a.Username != "marker-user" || a.Password != marker {
			t.Fatalf("request %d: answered user %q and a password that is %s the marker", i, a.Username, map[bool]string{true: "", false: "not"}[a.Password == marker])
		}
		var w struct {
			Marked  []string
			Written []struct {
				Path, Finding string
				Size          int
			}
		}
		if err := json.Unmarshal(c.ReadFile(t, report), &w); err != nil {
			t.Fatalf("watch report %d: %v", i, err)
		}
		inCache := 0
		for _, f := range w.Written {
			if f.Finding != "" {
				t.Errorf("request %d: the plugin wrote the secret (%s) into %s", i, f.Finding, f.Path)
			}
			if strings.HasPrefix(f.Path, cacheDir+"/") {
				inCache++
			}
			t.Logf("request %d: the plugin wrote %s (%d bytes)", i, f.Path, f.Size)
		}
		// The first request stores: lock files and the key, at least. If
		// the watch saw none of it, it saw nothing.
		if i == 1 && inCache == 0 {
			t.Fatalf("request 1: the watch (on %v) saw no write into the cache dir", w.Marked)
		}
		if got := strings.Fields(string(c.ReadFile(t, calls))); len(got) != 1 || got[0] != "get" {
			t.Fatalf("after request %d the helper ran %d times (%v), want one get: the second request must come from the cache", i, len(got), got)
		}
	}

	// The pod. runc spec writes the default bundle; only the command and the
	// terminal (none: the output is read) change.
	rootfs := filepath.Dir(c.WriteFile(t, "pod/rootfs/.keep", nil))
	bundle := filepath.Dir(rootfs)
	state := filepath.Dir(c.WriteFile(t, "runc-state/.keep", nil))
	if out, err := c.RunOnNode(t, nil, nil, "sh", "-c", fmt.Sprintf("install -m 0755 %q %q/podreader && install -d %q/proc %q/dev %q/sys && runc spec --bundle %q", reader, rootfs, rootfs, rootfs, rootfs, bundle)); err != nil {
		t.Fatalf("making the bundle: %v %s", err, out)
	}
	var spec map[string]any
	if err := json.Unmarshal(c.ReadFile(t, filepath.Join(bundle, "config.json")), &spec); err != nil {
		t.Fatalf("runc spec: %v", err)
	}
	proc := spec["process"].(map[string]any)
	proc["args"] = []string{"/podreader", "scan", markerHex}
	proc["terminal"] = false
	user, _ := json.Marshal(proc["user"])
	_, seccomp := spec["linux"].(map[string]any)["seccomp"]
	t.Logf("pod: user %s, seccomp profile %v, capabilities %v", user, seccomp, proc["capabilities"].(map[string]any)["bounding"])
	if seccomp || !strings.Contains(string(user), `"uid":0`) {
		t.Fatalf("runc spec is not the default this case is about: user %s, seccomp %v", user, seccomp)
	}
	b, _ := json.Marshal(spec)
	c.WriteFile(t, "pod/config.json", b)
	id := "ncp-podreader-" + hex.EncodeToString(raw[:4])
	out, err := c.RunOnNode(t, nil, nil, "runc", "--root", state, "run", "--bundle", bundle, id)
	t.Cleanup(func() { _, _ = c.RunOnNode(t, nil, nil, "runc", "--root", state, "delete", "--force", id) })
	if err != nil {
		t.Fatalf("runc run: %s", strings.ReplaceAll(err.Error(), marker, "***"))
	}
	i := strings.Index(out, "PODREADER ")
	if i < 0 {
		t.Fatalf("podreader printed no report: %s", strings.ReplaceAll(out, marker, "***"))
	}
	var r struct {
		UID      int
		Keyrings []string
		Keys     []struct {
			ID          int
			Description string
			Via         string
			Read        bool
			Size        int
		}
		Files, FileErrors int
		Bytes             int64
		Findings          []string
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out[i+len("PODREADER "):], "\n", 2)[0]), &r); err != nil {
		t.Fatalf("podreader report: %v", err)
	}
	t.Logf("pod as uid %d reached keyrings %v, %d keys, %d files (%d MB, %d unreadable)", r.UID, r.Keyrings, len(r.Keys), r.Files, r.Bytes>>20, r.FileErrors)
	for _, f := range r.Findings {
		t.Errorf("the pod read the cached secret: %s", f)
	}
	// It looked where the secret is kept: the cache's keyring, and the
	// entry in it, whose sealed bytes it read.
	ring, entries, sealed := 0, 0, 0
	for _, k := range r.Keys {
		if strings.HasPrefix(k.Description, "keyring;") && strings.HasSuffix(k.Description, ";"+"node-credential-provider:sealed:"+cacheDir) && k.Read {
			ring = k.ID
		}
	}
	for _, k := range r.Keys {
		if ring != 0 && k.Via == fmt.Sprintf("in %d", ring) && k.Read && k.Size > 0 {
			entries, sealed = entries+1, k.Size
		}
	}
	if r.UID != 0 || ring == 0 || entries != 1 {
		t.Fatalf("the pod (uid %d) did not reach the cache: keyring %d, %d entries read", r.UID, ring, entries)
	}
	if r.Files < 1000 {
		t.Errorf("the pod read only %d files: was /proc or /sys not walked?", r.Files)
	}
	t.Logf("the pod read the cache's keyring %d and its entry's %d sealed bytes, and no secret", ring, sealed)
}

// buildPodReader builds e2e/podreader, static, on the machine running the
// tests.
func buildPodReader(t *testing.T) string {
	t.Helper()
	repo, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "podreader")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./e2e/podreader")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building podreader: %v: %s", err, b)
	}
	return out
}
