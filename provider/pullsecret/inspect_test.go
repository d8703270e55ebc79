package pullsecret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/internal/kubectltest"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
)

const inspectPW = "pw-Qx7-never-shown"

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func exported(t *testing.T, json bool, namespaces ...string) string {
	t.Helper()
	secrets, err := Build(Meta{Name: "regcred"}, namespaces, []Entry{
		{Server: "https://index.docker.io/v1/", Username: "hub", Password: inspectPW, Email: "hub@example.com"},
		{Server: "localhost:5443", Username: "l", Password: inspectPW},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if json {
		err = WriteJSON(&b, secrets)
	} else {
		err = WriteYAML(&b, secrets)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// credsStoreCopy is what users put into Secrets today: docker's config.json
// when a credential store holds the secrets.
const credsStoreCopy = `{"auths":{"https://index.docker.io/v1/":{},"ghcr.io":{}},"credsStore":"desktop"}`

func secretYAML(typ, key, value string) string {
	s := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: ns\n"
	if typ != "" {
		s += "type: " + typ + "\n"
	}
	return s + "data:\n  " + key + ": " + value + "\n"
}

func TestInspect(t *testing.T) {
	good := `{"auths":{"r.io":{"username":"u","password":"` + inspectPW + `"}}}`
	type want struct {
		kind, ns, typ string
		servers       []string
		problem       string // substring of the one problem, "" for none
	}
	for _, tc := range []struct {
		name  string
		input string
		want  []want
	}{
		{"our YAML, two namespaces", exported(t, false, "a", "b"), []want{
			{"Secret", "a", TypeDockerConfigJSON, []string{"https://index.docker.io/v1/", "localhost:5443"}, ""},
			{"Secret", "b", TypeDockerConfigJSON, []string{"https://index.docker.io/v1/", "localhost:5443"}, ""},
		}},
		{"our JSON List", exported(t, true, "a"), []want{
			{"Secret", "a", TypeDockerConfigJSON, []string{"https://index.docker.io/v1/", "localhost:5443"}, ""},
		}},
		{"credsStore copy", secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(credsStoreCopy)), []want{
			{"Secret", "ns", TypeDockerConfigJSON, []string{"ghcr.io", "https://index.docker.io/v1/"}, `no usable credentials: a copy of a config whose secrets docker keeps in credsStore "desktop"`},
		}},
		{"generic Secret without --type", secretYAML("", ".dockerconfigjson", b64(good)), []want{
			{"Secret", "ns", "", []string{"r.io"}, `type is "Opaque"`},
		}},
		{"missing key", secretYAML(TypeDockerConfigJSON, "config.json", b64(good)), []want{
			{"Secret", "ns", TypeDockerConfigJSON, nil, `no ".dockerconfigjson" key`},
		}},
		{"invalid base64", secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", "not*base64"), []want{
			{"Secret", "ns", TypeDockerConfigJSON, nil, "not valid base64"},
		}},
		{"not a docker config", secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(`{"auths":"`+inspectPW+`"}`)), []want{
			{"Secret", "ns", TypeDockerConfigJSON, nil, `data[.dockerconfigjson]: invalid value`},
		}},
		{"legacy layout in .dockerconfigjson", secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(`{"r.io":{"auth":"`+dockerconfig.EncodeAuth("u", inspectPW)+`"}}`)), []want{
			{"Secret", "ns", TypeDockerConfigJSON, []string{"r.io"}, "legacy .dockercfg layout"},
		}},
		{"dockercfg Secret", secretYAML(TypeDockercfg, ".dockercfg", b64(`{"r.io":{"auth":"`+dockerconfig.EncodeAuth("u", inspectPW)+`"}}`)), []want{
			{"Secret", "ns", TypeDockercfg, []string{"r.io"}, ""},
		}},
		{"broken entry", secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(`{"auths":{"r.io":{"username":"u","password":"p"},"bad.io":{"auth":"!!"}}}`)), []want{
			{"Secret", "ns", TypeDockerConfigJSON, []string{"r.io"}, "ignores a config with a broken entry"},
		}},
		{"registry only in a credHelper", `{"auths":{"r.io":{"username":"u","password":"p"}},"credHelpers":{"gcr.io":"gcloud"}}`, []want{
			{"docker config", "", "", []string{"r.io"}, `registry "gcr.io" is only in credHelper "gcloud"`},
		}},
		{"stringData", "kind: Secret\napiVersion: v1\nmetadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '" + good + "'\n", []want{
			{"Secret", "", TypeDockerConfigJSON, []string{"r.io"}, ""},
		}},
		{"docker config file", good, []want{{"docker config", "", "", []string{"r.io"}, ""}}},
		{"mixed manifests, other objects and comments passed over", "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: t}\ndata: {tls.crt: eA==}\n---\n" + secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(good)), []want{
			{"Secret", "ns", TypeDockerConfigJSON, []string{"r.io"}, ""},
		}},
		{"a List of kubectl get -o json", `{"apiVersion":"v1","kind":"SecretList","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"x"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"` + b64(good) + `"}}]}`, []want{
			{"Secret", "x", TypeDockerConfigJSON, []string{"r.io"}, ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reports, err := Inspect([]byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if len(reports) != len(tc.want) {
				t.Fatalf("%d reports: %+v", len(reports), reports)
			}
			for i, r := range reports {
				w := tc.want[i]
				var servers []string
				for _, e := range r.Entries {
					servers = append(servers, e.Server)
				}
				if r.Kind != w.kind || r.Namespace != w.ns || r.Type != w.typ || strings.Join(servers, ",") != strings.Join(w.servers, ",") {
					t.Errorf("report %d = %s %s %s %q, want %s %s %s %q", i, r.Kind, r.Namespace, r.Type, servers, w.kind, w.ns, w.typ, w.servers)
				}
				if w.problem == "" && len(r.Problems) > 0 || w.problem != "" && (len(r.Problems) != 1 || !strings.Contains(r.Problems[0], w.problem)) {
					t.Errorf("problems %q, want one with %q", r.Problems, w.problem)
				}
				for _, p := range r.Problems {
					if strings.Contains(p, inspectPW) {
						t.Errorf("problem shows the password: %s", p)
					}
				}
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{"", "input is empty"},
		{"  \n", "input is empty"},
		{"apiVersion: v1\nkind: ConfigMap\n", "no image pull Secret and no docker config found"},
		{"a: b\n---\nkey: [unclosed " + inspectPW + "\n", "document 2: not valid YAML (line 3)"},
		{"a:\n\t- " + inspectPW + "\n", "not valid YAML"},
		{`{"auths":{"r.io":{"password":"` + inspectPW + `"x}}}`, "document 1: not valid JSON"},
		{"- " + inspectPW + "\n", "must be an object"},
		{`{"kind":"List","items":[{"kind":"List","items":[{"kind":"List","items":[{"kind":"List","items":[{"kind":"List","items":[]}]}]}]}]}`, "nested too deeply"},
		{"kind: Secret\ndata: {a: 5}\n", `field "data" must be a string`},
	} {
		_, err := Inspect([]byte(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Inspect(%q) error = %v, want %q", tc.input, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), inspectPW) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// kubectl's generic Secret from a credsStore config.json, the case of the
// Kubernetes docs that silently does not work, is flagged.
func TestInspectKubectlGenericCopy(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(credsStoreCopy), 0o600); err != nil {
		t.Fatal(err)
	}
	out := kubectltest.Output(t, filepath.Join("testdata", "kubectl", "generic-credsstore-copy.yaml"),
		"create", "secret", "generic", "regcred", "--from-file=.dockerconfigjson="+cfg,
		"--type=kubernetes.io/dockerconfigjson", "--dry-run=client", "-o", "yaml")
	reports, err := Inspect(out)
	if err != nil || len(reports) != 1 || len(reports[0].Problems) != 1 || !strings.Contains(reports[0].Problems[0], "credsStore") {
		t.Errorf("%+v, %v", reports, err)
	}
}

func TestWriteReports(t *testing.T) {
	reports, err := Inspect([]byte(exported(t, false, "a") + "---\n" + secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(credsStoreCopy))))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteReports(&b, reports, false); err != nil {
		t.Fatal(err)
	}
	want := `Secret regcred
  namespace  a
  type       kubernetes.io/dockerconfigjson
  registry   https://index.docker.io/v1/  username hub  password <redacted>  email hub@example.com
  registry   localhost:5443               username l    password <redacted>

Secret s
  namespace  ns
  type       kubernetes.io/dockerconfigjson
  registry   ghcr.io                      unusable: empty: docker keeps the secret in credsStore "desktop"
  registry   https://index.docker.io/v1/  unusable: empty: docker keeps the secret in credsStore "desktop"
  PROBLEM    no usable credentials: a copy of a config whose secrets docker keeps in credsStore "desktop"; export the real credentials with node-credential-provider export-secret
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteReports(&b, reports, true); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), inspectPW) != 2 || strings.Contains(b.String(), Redacted) {
		t.Errorf("--show-secrets:\n%s", b.String())
	}
}

func FuzzInspect(f *testing.F) {
	good := `{"auths":{"r.io":{"username":"u","password":"` + inspectPW + `"}}}`
	for _, s := range []string{
		exported(&testing.T{}, false, "a", "b"),
		exported(&testing.T{}, true, "a"),
		good,
		credsStoreCopy,
		secretYAML(TypeDockerConfigJSON, ".dockerconfigjson", b64(credsStoreCopy)),
		secretYAML("", ".dockercfg", b64(good)),
		"kind: List\nitems:\n- kind: Secret\n  stringData: {.dockerconfigjson: '{}'}\n",
		"---\n--- \n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reports, err := Inspect(data)
		if err != nil {
			if len(reports) != 0 {
				t.Fatal("reports with an error")
			}
			return
		}
		var b bytes.Buffer
		if err := WriteReports(&b, reports, false); err != nil {
			t.Fatal(err)
		}
		for _, r := range reports {
			for _, e := range r.Entries {
				// Redaction: a password of some length that is not also a
				// username, server or email must not be printed.
				pw := e.Password
				if len(pw) >= 6 && !strings.Contains(e.Username+e.Server+e.Email+r.Name+r.Namespace, pw) &&
					!strings.Contains(Redacted+"registryusernamepasswordemailunusable", pw) && strings.Contains(b.String(), pw) {
					t.Fatalf("password printed without --show-secrets:\n%s", b.String())
				}
			}
		}
	})
}
