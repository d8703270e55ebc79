//go:build linux

package install

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"sigs.k8s.io/yaml"
	"time"

	"github.com/node-credential-provider/node-credential-provider/config"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("install writes files owned by root: run as root (CI does)")
	}
}

// snapshot is every file and folder under root with its mode and bytes.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "proc" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel] = fmt.Sprintf("dir %v", fi.Mode())
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("%v %q", fi.Mode(), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireAsBefore checks that root is as its snapshot before, but for our
// state folder, which may keep backups.
func requireAsBefore(t *testing.T, before map[string]string, root, what string) {
	t.Helper()
	after := snapshot(t, root)
	for k := range after {
		if strings.HasPrefix(k, "var/lib/node-credential-provider") {
			delete(after, k)
		}
	}
	if d := diffSnapshots(before, after); d != "" {
		t.Errorf("%s:\n%s", what, d)
	}
}

func diffSnapshots(a, b map[string]string) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("%s: %.120s -> %.120s", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s: added %.120s", k, v))
		}
	}
	return strings.Join(out, "\n")
}

func fakeBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node-credential-provider")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n# "+content+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func options(root, bin string) Options {
	return Options{
		Host: Host{Root: root}, Binary: bin, ProviderName: "node-credential-provider",
		MatchImages: []string{"registry.example.com"},
		Args:        []string{"--docker-config=/var/lib/kubelet/config.json"},
	}
}

// validator counts calls and checks the staged config decodes strictly.
type validator struct {
	calls  int
	staged []Staged
	fail   bool
}

func (v *validator) check(s Staged, w io.Writer) int {
	v.calls++
	v.staged = append(v.staged, s)
	if v.fail {
		fmt.Fprintln(w, "PROBLEM  made up")
		return 1
	}
	if _, err := config.LoadKubelet(s.KubeletConfig); err != nil {
		fmt.Fprintln(w, "PROBLEM ", err)
		return 1
	}
	return 0
}

func run(t *testing.T, r *Runner, o Options, uninstall bool) (string, error) {
	t.Helper()
	var out bytes.Buffer
	r.Out = &out
	var err error
	if uninstall {
		err = r.Uninstall(o)
	} else {
		err = r.Install(o)
	}
	return out.String(), err
}

// runOK runs an install or uninstall that must succeed.
func runOK(t *testing.T, o Options, uninstall bool) string {
	t.Helper()
	out, err := run(t, &Runner{Validate: (&validator{}).check}, o, uninstall)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

func TestInstallKubeadmNode(t *testing.T) {
	needRoot(t)
	root := tree(t, kubeadmNode(nil))
	bin := fakeBinary(t, "v1")
	o := options(root, bin)
	before := snapshot(t, root)
	v := &validator{}

	out, err := run(t, &Runner{Print: true, Validate: v.check}, o, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# kubelet: pid 4242, /usr/bin/kubelet",
		"# flags go to /etc/default/kubelet (KUBELET_EXTRA_ARGS)",
		"--- /dev/null\n+++ b/etc/default/kubelet\n@@ -0,0 +1 @@\n+KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=/etc/kubernetes/credential-provider-config.yaml --image-credential-provider-bin-dir=/usr/libexec/kubelet-image-credential-provider-plugins\"\n",
		"+++ b/etc/kubernetes/credential-provider-config.yaml\n@@ -0,0 +1,13 @@\n+apiVersion: kubelet.config.k8s.io/v1\n",
		"+  env:\n+  - name: GOMAXPROCS\n+    value: \"1\"\n",
		"+  - --docker-config=/var/lib/kubelet/config.json\n",
		"binary /usr/libexec/kubelet-image-credential-provider-plugins/node-credential-provider added: ",
		"# --print: 4 file(s) would change; nothing written",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--print output lacks %q:\n%s", want, out)
		}
	}
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Fatalf("--print wrote:\n%s", d)
	}
	if v.calls != 1 {
		t.Errorf("validated %d times", v.calls)
	}

	out, err = run(t, &Runner{Validate: v.check}, o, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	after := snapshot(t, root)
	binPath := "usr/libexec/kubelet-image-credential-provider-plugins/node-credential-provider"
	if got := after[binPath]; !strings.HasPrefix(got, "-rwxr-xr-x") || !strings.Contains(got, "# v1") {
		t.Errorf("binary: %s", got)
	}
	if got := after["etc/default/kubelet"]; !strings.HasPrefix(got, "-rw-r--r--") {
		t.Errorf("flags file: %s", got)
	}
	if got := after["var/lib/node-credential-provider/install/state.json"]; !strings.HasPrefix(got, "-rw-------") {
		t.Errorf("state: %s", got)
	}
	if got := after["var/lib/node-credential-provider/install"]; got != "dir drwx------" {
		t.Errorf("state dir: %s", got)
	}
	// Nothing left over from the atomic writes.
	for k := range after {
		if strings.Contains(k, ".ncp-") {
			t.Errorf("temporary file left: %s", k)
		}
	}

	// Once more: nothing changes, byte for byte, and it says so.
	out, err = run(t, &Runner{Validate: v.check}, o, false)
	if err != nil || !strings.Contains(out, "nothing to change: already installed as asked") {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	if d := diffSnapshots(after, snapshot(t, root)); d != "" {
		t.Errorf("second install changed:\n%s", d)
	}

	// A new binary is the only change.
	o.Binary = fakeBinary(t, "v2")
	out, err = run(t, &Runner{Validate: v.check}, o, false)
	if err != nil {
		t.Fatal(err)
	}
	upgraded := snapshot(t, root)
	for k := range upgraded {
		if strings.HasPrefix(k, "var/lib/node-credential-provider/install/backup/") {
			delete(upgraded, k)
			delete(after, k)
		}
	}
	if d := diffSnapshots(after, upgraded); d != binPath+`: -rwxr-xr-x "#!/bin/sh\n# v1\n" -> -rwxr-xr-x "#!/bin/sh\n# v2\n"` {
		t.Errorf("upgrade changed more than the binary (and its backup):\n%s\n%s", d, out)
	}

	// Uninstall gives back the node as it was.
	out, err = run(t, &Runner{Validate: v.check}, o, true)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Errorf("after uninstall:\n%s\n%s", d, out)
	}
	out, err = run(t, &Runner{Validate: v.check}, o, true)
	if err != nil || !strings.Contains(out, "nothing of ours is installed") {
		t.Errorf("second uninstall: %v\n%s", err, out)
	}
}

// An ECR provider, written by hand with comments.
const ecrConfig = `# managed by hand
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages:
      - "*.dkr.ecr.*.amazonaws.com"
      - "*.dkr.ecr.*.amazonaws.com.cn"
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args: ["get-credentials"]
    env:
      - name: AWS_PROFILE
        value: node
    tokenAttributes:
      serviceAccountTokenAudience: sts.amazonaws.com
      cacheType: ServiceAccount
      requireServiceAccount: false
      requiredServiceAccountAnnotationKeys: ["eks.amazonaws.com/role-arn"]
`

func TestInstallMergesIntoSingleFile(t *testing.T) {
	needRoot(t)
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			content := ecrConfig
			name := "cp.yaml"
			if format == "json" {
				js, err := yaml.YAMLToJSON([]byte(ecrConfig))
				if err != nil {
					t.Fatal(err)
				}
				content, name = string(js), "cp.json"
			}
			root := tree(t, kubeadmNode(map[string]string{
				"etc/kubernetes/" + name:         content,
				"etc/default/kubelet":            "KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=/etc/kubernetes/" + name + " --image-credential-provider-bin-dir=/opt/cp\"\n",
				"opt/cp/ecr-credential-provider": "#!/bin/sh\n",
			}))
			o := options(root, fakeBinary(t, "v1"))
			before := snapshot(t, root)
			out, err := run(t, &Runner{Validate: (&validator{}).check}, o, false)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(out, "wrote   /etc/default/kubelet") {
				t.Errorf("the flags were touched though the kubelet has them:\n%s", out)
			}
			old, err := config.ParseKubelet([]byte(content))
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(root, "etc/kubernetes", name))
			if err != nil {
				t.Fatal(err)
			}
			merged, err := config.ParseKubelet(data)
			if err != nil {
				t.Fatalf("merged file does not decode strictly: %v\n%s", err, data)
			}
			if len(merged.Providers) != 2 || !reflect.DeepEqual(merged.Providers[0], old.Providers[0]) || merged.Providers[1].Name != "node-credential-provider" {
				t.Errorf("merged:\n%s", data)
			}
			if (format == "json") != bytes.HasPrefix(data, []byte("{")) {
				t.Errorf("format changed:\n%s", data)
			}
			out, err = run(t, &Runner{Validate: (&validator{}).check}, o, true)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			data, _ = os.ReadFile(filepath.Join(root, "etc/kubernetes", name))
			left, err := config.ParseKubelet(data)
			if err != nil || !reflect.DeepEqual(left, old) {
				t.Errorf("after uninstall (%v):\n%s", err, data)
			}
			// The hand-written file comes back byte for byte, comments too.
			if d := diffSnapshots(before, snapshot(t, root)); d != "" {
				t.Errorf("uninstall left:\n%s", d)
			}
		})
	}
}

func TestInstallDropInDirectory(t *testing.T) {
	needRoot(t)
	other := "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: other\n  matchImages: [\"other.example.com\"]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
	root := tree(t, kubeadmNode(map[string]string{
		"etc/kubernetes/cp.d/10-other.yaml": other,
		"var/lib/kubelet/kubeadm-flags.env": `KUBELET_KUBEADM_ARGS="--image-credential-provider-config=/etc/kubernetes/cp.d --image-credential-provider-bin-dir=/opt/cp"` + "\n",
		"opt/cp/other":                      "#!/bin/sh\n",
	}))
	o := options(root, fakeBinary(t, "v1"))
	before := snapshot(t, root)
	out, err := run(t, &Runner{Validate: (&validator{}).check}, o, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	after := snapshot(t, root)
	if after["etc/kubernetes/cp.d/10-other.yaml"] != before["etc/kubernetes/cp.d/10-other.yaml"] {
		t.Error("the other provider's file changed")
	}
	if _, ok := after["etc/kubernetes/cp.d/node-credential-provider.yaml"]; !ok {
		t.Errorf("our file is missing:\n%s", out)
	}
	providers, err := config.LoadKubelet(filepath.Join(root, "etc/kubernetes/cp.d"))
	if err != nil || len(providers) != 2 {
		t.Errorf("%v %v", err, providers)
	}
	if _, err := run(t, &Runner{Validate: (&validator{}).check}, o, true); err != nil {
		t.Fatal(err)
	}
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Errorf("after uninstall:\n%s", d)
	}
}

func TestInstallRefuses(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name  string
		files map[string]string
		opts  func(*Options)
		v     validator
		want  string
	}{
		{"a file the kubelet would refuse", map[string]string{
			"etc/kubernetes/cp.yaml": strings.Replace(ecrConfig, "    args:", "    argz:", 1),
			"etc/default/kubelet":    "KUBELET_EXTRA_ARGS=--image-credential-provider-config=/etc/kubernetes/cp.yaml\n",
		}, nil, validator{}, `unknown field "providers[0].argz"; the kubelet refuses this file too, so it is left alone`},
		{"another value than the kubelet's", map[string]string{
			"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--image-credential-provider-bin-dir=/opt/cp\n",
		}, func(o *Options) { o.BinDir = "/usr/local/cp" }, validator{},
			`the kubelet already has --image-credential-provider-bin-dir=/opt/cp, set in /etc/default/kubelet (KUBELET_EXTRA_ARGS); "/usr/local/cp" was asked for`},
		{"a result that fails validation", nil, nil, validator{fail: true}, "fails validation with 1 problem(s); nothing written:\nPROBLEM  made up"},
		{"no match-image", nil, func(o *Options) { o.MatchImages = nil }, validator{}, "no --match-image"},
		{"a bad match-image", nil, func(o *Options) { o.MatchImages = []string{"reg.example.com:*"} }, validator{}, "matchImages[0]"},
		{"nowhere to add the flags", map[string]string{
			"usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": "[Service]\nExecStart=/usr/bin/kubelet\n",
			"var/lib/kubelet/kubeadm-flags.env":                        "",
		}, nil, validator{}, "cannot tell where this node keeps the kubelet's flags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := kubeadmNode(tc.files)
			if tc.name == "nowhere to add the flags" {
				files = tc.files
				files["proc/1/cmdline"] = "/sbin/init"
			}
			root := tree(t, files)
			o := options(root, fakeBinary(t, "v1"))
			if tc.opts != nil {
				tc.opts(&o)
			}
			before := snapshot(t, root)
			out, err := run(t, &Runner{Validate: tc.v.check}, o, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q\n%s", err, tc.want, out)
			}
			if d := diffSnapshots(before, snapshot(t, root)); d != "" {
				t.Errorf("wrote:\n%s", d)
			}
		})
	}
}

func TestRestartRollsBack(t *testing.T) {
	needRoot(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer healthy.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "[-]syncloop failed", http.StatusInternalServerError)
	}))
	defer sick.Close()

	for _, tc := range []struct {
		name, command, url string
		want               string
		ok                 bool
	}{
		{"healthy", "true", healthy.URL + "/healthz", "", true},
		{"failing command", "[ -e $MARK.2 ] || { touch $MARK.2; exit 3; }", healthy.URL + "/healthz", `failed: exit status 3; every file was restored and the kubelet is healthy again`, false},
		{"never healthy", "true", sick.URL + "/healthz", `did not become healthy`, false},
		{"nothing listening", "true", "http://127.0.0.1:1/healthz", `connection refused`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, kubeadmNode(map[string]string{"etc/default/kubelet": "# the administrator's\nKUBELET_EXTRA_ARGS=--v=2\n"}))
			o := options(root, fakeBinary(t, "v1"))
			before := snapshot(t, root)
			marker := filepath.Join(t.TempDir(), "restarts")
			r := &Restarter{Command: "MARK=" + marker + "; echo x >> $MARK; " + tc.command, HealthzURL: tc.url, Timeout: 1500 * time.Millisecond, Log: io.Discard}
			out, err := run(t, &Runner{Validate: (&validator{}).check, Restart: r}, o, false)
			restarts, _ := os.ReadFile(marker)
			if tc.ok {
				if err != nil || strings.Count(string(restarts), "x") != 1 {
					t.Fatalf("%v, %d restarts\n%s", err, strings.Count(string(restarts), "x"), out)
				}
				// Nothing changed: no restart.
				if _, err := run(t, &Runner{Validate: (&validator{}).check, Restart: r}, o, false); err != nil {
					t.Fatal(err)
				}
				if restarts, _ = os.ReadFile(marker); strings.Count(string(restarts), "x") != 1 {
					t.Errorf("restarted though nothing changed")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q\n%s", err, tc.want, out)
			}
			if n := strings.Count(string(restarts), "x"); n != 2 {
				t.Errorf("%d restarts, want 2 (after the change, after the restore)", n)
			}
			// The backups of the failed change stay for the operator.
			requireAsBefore(t, before, root, "not restored")
		})
	}
}

func TestUninstallRestoresEditedFiles(t *testing.T) {
	needRoot(t)
	root := tree(t, kubeadmNode(map[string]string{
		"etc/default/kubelet": "# the administrator's\nKUBELET_EXTRA_ARGS=--v=2\n",
	}))
	o := options(root, fakeBinary(t, "v1"))
	before := snapshot(t, root)
	runOK(t, o, false)
	data, _ := os.ReadFile(filepath.Join(root, "etc/default/kubelet"))
	if want := "# the administrator's\nKUBELET_EXTRA_ARGS=\"--v=2 --image-credential-provider-config=/etc/kubernetes/credential-provider-config.yaml --image-credential-provider-bin-dir=/usr/libexec/kubelet-image-credential-provider-plugins\"\n"; string(data) != want {
		t.Errorf("flags file:\n%s\nwant\n%s", data, want)
	}
	// Someone adds a flag of their own meanwhile: it stays, ours go.
	if err := os.WriteFile(filepath.Join(root, "etc/default/kubelet"), bytes.Replace(data, []byte("--v=2"), []byte("--v=2 --max-pods=50"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	runOK(t, o, true)
	data, _ = os.ReadFile(filepath.Join(root, "etc/default/kubelet"))
	if want := "# the administrator's\nKUBELET_EXTRA_ARGS=\"--v=2 --max-pods=50\"\n"; string(data) != want {
		t.Errorf("after uninstall:\n%s\nwant\n%s", data, want)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/default/kubelet"), []byte("# the administrator's\nKUBELET_EXTRA_ARGS=--v=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without the meanwhile edit, the file comes back as it was.
	runOK(t, o, false)
	runOK(t, o, true)
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Errorf("after uninstall:\n%s", d)
	}
}

func TestUninstallKeepsTheKubeletStartable(t *testing.T) {
	needRoot(t)
	// A file that held only an entry of our name before install (an
	// earlier manual install), named by flags install did not add:
	// uninstall would leave the kubelet a config without providers.
	ours := "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: node-credential-provider\n  matchImages: [\"old.example.com\"]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
	root := tree(t, kubeadmNode(map[string]string{
		"etc/kubernetes/cp.yaml": ours,
		"etc/default/kubelet":    "KUBELET_EXTRA_ARGS=\"--image-credential-provider-config=/etc/kubernetes/cp.yaml --image-credential-provider-bin-dir=/opt/cp\"\n",
	}))
	o := options(root, fakeBinary(t, "v1"))
	if out := runOK(t, o, false); !strings.Contains(out, `/etc/kubernetes/cp.yaml already has a provider named "node-credential-provider", not put there by install: our entry replaces it, and uninstall removes it`) {
		t.Errorf("install did not say it takes over the entry:\n%s", out)
	}
	installed := snapshot(t, root)
	out, err := run(t, &Runner{Validate: (&validator{}).check}, o, true)
	if err == nil || !strings.Contains(err.Error(), "no providers (the kubelet refuses to start") {
		t.Errorf("got %v\n%s", err, out)
	}
	if d := diffSnapshots(installed, snapshot(t, root)); d != "" {
		t.Errorf("a refused uninstall wrote:\n%s", d)
	}

	// A drop-in directory install made, with flags it added; someone adds
	// a file of theirs: uninstall keeps the flags that file needs.
	root = tree(t, kubeadmNode(nil))
	o = options(root, fakeBinary(t, "v1"))
	o.ProviderConfig = "/etc/kubernetes/credential-providers/"
	runOK(t, o, false)
	other := "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: other\n  matchImages: [\"other.example.com\"]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
	if err := os.WriteFile(filepath.Join(root, "etc/kubernetes/credential-providers/10-other.yaml"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, &Runner{Validate: (&validator{}).check}, o, true)
	if err != nil || !strings.Contains(out, "still holds other files: the kubelet flags install added stay") {
		t.Fatalf("%v\n%s", err, out)
	}
	left := snapshot(t, root)
	if _, ok := left["etc/kubernetes/credential-providers/node-credential-provider.yaml"]; ok {
		t.Error("our file is still there")
	}
	if !strings.Contains(left["etc/default/kubelet"], "--image-credential-provider-config=/etc/kubernetes/credential-providers") {
		t.Errorf("flags: %s", left["etc/default/kubelet"])
	}
	if _, ok := left["var/lib/node-credential-provider"]; ok {
		t.Error("the state folder is still there")
	}
}

// A run killed while it changes files leaves its pending marker; the next
// install or uninstall puts every file back from the backups first, and
// --print, which writes nothing, stops and says so.
func TestInterruptedRunIsPutBackFirst(t *testing.T) {
	needRoot(t)
	for _, next := range []string{"install", "uninstall"} {
		t.Run(next, func(t *testing.T) {
			// A flags file of the operator's, with its own mode, which the
			// run edits: put back byte for byte.
			root := tree(t, kubeadmNode(map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=\"--v=2\"\n"}))
			if err := os.Chmod(filepath.Join(root, "etc/default/kubelet"), 0o640); err != nil {
				t.Fatal(err)
			}
			o := options(root, fakeBinary(t, "v1"))
			before := snapshot(t, root)
			// The killed run: planned and applied, never finished.
			p, err := PlanInstall(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := apply(o.Host, p); err != nil {
				t.Fatal(err)
			}
			if d := diffSnapshots(before, snapshot(t, root)); d == "" {
				t.Fatal("the interrupted run changed nothing")
			}
			out, err := run(t, &Runner{Print: true, Validate: (&validator{}).check}, o, next == "uninstall")
			if err == nil || !strings.Contains(err.Error(), "run without --print") {
				t.Fatalf("--print after an interrupted run: %v\n%s", err, out)
			}
			out = runOK(t, o, next == "uninstall")
			if !strings.Contains(out, "was interrupted while it changed files") || !strings.Contains(out, "removed /etc/kubernetes/credential-provider-config.yaml (made by the interrupted run)") ||
				!strings.Contains(out, "restored /etc/default/kubelet\n") {
				t.Errorf("no word of putting the files back:\n%s", out)
			}
			if next == "uninstall" {
				if !strings.Contains(out, "nothing of ours is installed") {
					t.Errorf("uninstall after the files were put back:\n%s", out)
				}
			} else {
				// Installed once, as asked: uninstall leaves the node as it was.
				if again := runOK(t, o, false); !strings.Contains(again, "nothing to change") {
					t.Errorf("second install:\n%s", again)
				}
				runOK(t, o, true)
			}
			requireAsBefore(t, before, root, "the node is not as it was")
		})
	}
}

// A symbolic link where install would write is refused, not replaced: under
// --root its target resolves in our view, and a rename over it would swap
// the administrator's file for ours.
func TestInstallRefusesSymlinks(t *testing.T) {
	needRoot(t)
	root := tree(t, kubeadmNode(map[string]string{"etc/kubelet-real": "KUBELET_EXTRA_ARGS=--v=2\n"}))
	if err := os.Symlink("../kubelet-real", filepath.Join(root, "etc/default/kubelet")); err != nil {
		t.Fatal(err)
	}
	o := options(root, fakeBinary(t, "v1"))
	before := snapshot(t, root)
	out, err := run(t, &Runner{Validate: (&validator{}).check}, o, false)
	if err == nil || !strings.Contains(err.Error(), "/etc/default/kubelet (kubelet flags (KUBELET_EXTRA_ARGS)) is a symbolic link to ../kubelet-real") {
		t.Errorf("got %v\n%s", err, out)
	}
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Errorf("wrote:\n%s", d)
	}
}

// One install or uninstall at a time on a node: a second one, while the
// first holds the node's lock, fails at once and writes nothing.
func TestConcurrentRunIsRefused(t *testing.T) {
	needRoot(t)
	root := tree(t, kubeadmNode(nil))
	o := options(root, fakeBinary(t, "v1"))
	unlock, err := lockNode(o.Host)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	for _, uninstall := range []bool{false, true} {
		out, err := run(t, &Runner{Validate: (&validator{}).check}, o, uninstall)
		if err == nil || !strings.Contains(err.Error(), "another install or uninstall is running on this node") {
			t.Errorf("uninstall %v while locked: %v\n%s", uninstall, err, out)
		}
	}
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Errorf("wrote:\n%s", d)
	}
	unlock()
	runOK(t, o, false)
}

// A rollback puts a replaced file back with the mode it had, not the mode
// install gave the new one (the binary is written 0755).
func TestRollbackKeepsTheOldMode(t *testing.T) {
	needRoot(t)
	root := tree(t, kubeadmNode(map[string]string{"usr/libexec/kubelet-image-credential-provider-plugins/node-credential-provider": "#!/bin/sh\n# an older one\n"}))
	bin := filepath.Join(root, "usr/libexec/kubelet-image-credential-provider-plugins/node-credential-provider")
	if err := os.Chmod(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	o := options(root, fakeBinary(t, "v1"))
	before := snapshot(t, root)
	r := &Restarter{Command: "exit 3", HealthzURL: "http://127.0.0.1:1/healthz", Timeout: time.Second, Log: io.Discard}
	if out, err := run(t, &Runner{Validate: (&validator{}).check, Restart: r}, o, false); err == nil {
		t.Fatalf("the restart did not fail:\n%s", out)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the old binary came back as %v (%v), want mode 0700", fi.Mode(), err)
	}
	requireAsBefore(t, before, root, "not restored")
}

// After putting back an interrupted run's files, --restart restarts the
// kubelet even when nothing is left to change: the killed run may have
// restarted it with its own files.
func TestRecoveryRestartsTheKubelet(t *testing.T) {
	needRoot(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer healthy.Close()
	root := tree(t, kubeadmNode(nil))
	o := options(root, fakeBinary(t, "v1"))
	p, err := PlanInstall(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply(o.Host, p); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "restarts")
	r := &Restarter{Command: "echo x >> " + marker, HealthzURL: healthy.URL + "/healthz", Timeout: 5 * time.Second, Log: io.Discard}
	out, err := run(t, &Runner{Validate: (&validator{}).check, Restart: r}, o, true)
	if err != nil || !strings.Contains(out, "nothing of ours is installed") {
		t.Fatalf("%v\n%s", err, out)
	}
	if restarts, _ := os.ReadFile(marker); strings.Count(string(restarts), "x") != 1 {
		t.Errorf("%d restarts after recovery, want 1\n%s", strings.Count(string(restarts), "x"), out)
	}
}

// An existing file keeps its owner through install and uninstall: a
// root:adm flags file does not become root:root.
func TestEditedFileKeepsItsOwner(t *testing.T) {
	needRoot(t)
	root := tree(t, kubeadmNode(map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--v=2\n"}))
	flags := filepath.Join(root, "etc/default/kubelet")
	if err := os.Chown(flags, 0, 4); err != nil {
		t.Fatal(err)
	}
	o := options(root, fakeBinary(t, "v1"))
	for _, uninstall := range []bool{false, true} {
		runOK(t, o, uninstall)
		fi, err := os.Stat(flags)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 4 {
			t.Errorf("uninstall %v: the flags file is owned by %d:%d, want 0:4", uninstall, st.Uid, st.Gid)
		}
	}
}
