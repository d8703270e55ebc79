package pullsecret

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/internal/kubectltest"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
)

// kubectlEntry is one registry as given to kubectl create secret docker-registry.
type kubectlEntry struct{ server, user, pass, email string }

// kubectlSecret is kubectl create secret docker-registry for one registry,
// as -o json decoded and as -o yaml bytes: from kubectl on PATH, or from
// the golden files it made (testdata/kubectl/NAME.json and .yaml).
func kubectlSecret(t *testing.T, golden, name, namespace string, e kubectlEntry) (corev1.Secret, []byte) {
	t.Helper()
	args := []string{"create", "secret", "docker-registry", name, "--namespace", namespace,
		"--docker-username", e.user, "--docker-password", e.pass, "--dry-run=client"}
	if e.server != "" { // else kubectl's default, Docker Hub
		args = append(args, "--docker-server", e.server)
	}
	if e.email != "" {
		args = append(args, "--docker-email", e.email)
	}
	golden = filepath.Join("testdata", "kubectl", golden)
	out := kubectltest.Output(t, golden+".json", append(args, "-o", "json")...)
	var s corev1.Secret
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("decoding kubectl's Secret: %v", err)
	}
	return s, kubectltest.Output(t, golden+".yaml", append(args, "-o", "yaml")...)
}

var equivalenceCases = []struct {
	name    string
	golden  string // the golden files' name in testdata/kubectl
	entries []kubectlEntry
}{
	{"docker hub, kubectl's default server", "hub-default", []kubectlEntry{{"", "janedoe", "xxxxxxxxxxx", "jdoe@example.com"}}},
	{"docker hub as docker.io", "hub-docker-io", []kubectlEntry{{"docker.io", "janedoe", "tok", ""}}},
	{"host", "host", []kubectlEntry{{"your.private.registry.example.com", "janedoe", "xxxxxxxxxxx", "jdoe@example.com"}}},
	{"host with port, no email", "host-port", []kubectlEntry{{"localhost:5443", "u", "p", ""}}},
	{"host, port and path", "host-port-path", []kubectlEntry{{"registry.example.com:5443/team/app", "robot$ci", "p", ""}}},
	{"url with scheme and /v2/", "url", []kubectlEntry{{"https://registry.example.com/v2/", "u", "p", "u@example.com"}}},
	{"ipv6", "ipv6", []kubectlEntry{{"[::1]:5000", "u", "p", ""}}},
	{"passwords with colons, quotes, html and unicode", "unicode", []kubectlEntry{{"quay.io/team-a", "ü<ser>", `p@ss:w"rd<>&\` + "\u2028ä", "a+b@example.com"}}},
	{"several registries", "several", []kubectlEntry{
		{"https://index.docker.io/v1/", "hub", "hubpass", "hub@example.com"},
		{"quay.io/team-a", "a", "pa", ""},
		{"localhost:5443", "l", "p<l>", ""},
		{"gcr.io", "_json_key", `{"type":"service_account","private_key":"-----BEGIN\nKEY-----"}`, ""},
		{"registry.example.com:5443/team", "janedoe", "x", "jdoe@example.com"},
	}},
}

// TestKubectlEquivalence proves that .dockerconfigjson is byte for byte what
// kubectl create secret docker-registry writes, the Secret the same object,
// and -o yaml the same bytes as kubectl's -o yaml. kubectl takes one
// registry per Secret; for several, its entries are merged the way
// encoding/json writes a map (sorted keys), which is what kubectl's own code
// would write for that map. Without kubectl on PATH the comparison is with
// the golden files kubectl made (make kubectl-golden).
func TestKubectlEquivalence(t *testing.T) {
	for _, tc := range equivalenceCases {
		t.Run(tc.name, func(t *testing.T) {
			var entries []Entry
			auths := map[string]json.RawMessage{}
			var servers []string
			var want corev1.Secret
			var wantYAML []byte
			for i, e := range tc.entries {
				server := e.server
				if server == "" {
					server = "https://index.docker.io/v1/"
				}
				entries = append(entries, Entry{Server: server, Username: e.user, Password: e.pass, Email: e.email})
				golden := tc.golden
				if len(tc.entries) > 1 {
					golden += "-" + strconv.Itoa(i)
				}
				want, wantYAML = kubectlSecret(t, golden, "regcred", "team-a", e)
				var cfg struct{ Auths map[string]json.RawMessage }
				if err := json.Unmarshal(want.Data[KeyDockerConfigJSON], &cfg); err != nil {
					t.Fatal(err)
				}
				if len(cfg.Auths) != 1 {
					t.Fatalf("kubectl wrote %d entries", len(cfg.Auths))
				}
				for k, v := range cfg.Auths {
					if k != server {
						t.Fatalf("kubectl wrote server %q, we expected it to write %q as given", k, server)
					}
					auths[k] = v
					servers = append(servers, k)
				}
			}
			// The bytes kubectl's encoder writes for the merged map.
			sort.Strings(servers)
			var wantJSON bytes.Buffer
			wantJSON.WriteString(`{"auths":{`)
			for i, s := range servers {
				if i > 0 {
					wantJSON.WriteByte(',')
				}
				k, _ := json.Marshal(s)
				wantJSON.Write(k)
				wantJSON.WriteByte(':')
				wantJSON.Write(auths[s])
			}
			wantJSON.WriteString(`}}`)
			if len(tc.entries) == 1 && !bytes.Equal(wantJSON.Bytes(), want.Data[KeyDockerConfigJSON]) {
				t.Fatalf("test bug: rebuilt %s, kubectl wrote %s", wantJSON.Bytes(), want.Data[KeyDockerConfigJSON])
			}

			got, err := DockerConfigJSON(entries)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantJSON.Bytes()) {
				t.Errorf(".dockerconfigjson differs from kubectl's\n got %s\nwant %s", got, wantJSON.Bytes())
			}

			// The whole Secret, in both output formats, decodes to kubectl's.
			secrets, err := Build(Meta{Name: "regcred"}, []string{"team-a"}, entries)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.entries) == 1 {
				var b bytes.Buffer
				if err := WriteYAML(&b, secrets); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b.Bytes(), wantYAML) {
					t.Errorf("-o yaml differs from kubectl's\n got:\n%s\nkubectl:\n%s", b.Bytes(), wantYAML)
				}
			}
			want.Data[KeyDockerConfigJSON] = wantJSON.Bytes()
			want.CreationTimestamp = secretsFromYAML(t, secrets)[0].CreationTimestamp
			for format, decoded := range map[string][]corev1.Secret{
				"yaml": secretsFromYAML(t, secrets),
				"json": secretsFromJSON(t, secrets),
			} {
				if len(decoded) != 1 || !reflect.DeepEqual(decoded[0], want) {
					t.Errorf("-o %s decodes to\n%+v\nkubectl's is\n%+v", format, decoded, want)
				}
			}
		})
	}
}

// secretsFromYAML writes secrets as YAML and decodes every document strictly
// with the k8s.io/api types, as the API server would.
func secretsFromYAML(t *testing.T, secrets []Secret) []corev1.Secret {
	t.Helper()
	var b bytes.Buffer
	if err := WriteYAML(&b, secrets); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Secret
	// Every line we write starts with a key or indentation, so "---" lines
	// are only separators.
	for _, doc := range bytes.Split(b.Bytes(), []byte("\n---\n")) {
		var s corev1.Secret
		if err := yaml.UnmarshalStrict(doc, &s); err != nil {
			t.Fatalf("decoding our YAML: %v\n%s", err, doc)
		}
		out = append(out, s)
	}
	return out
}

func secretsFromJSON(t *testing.T, secrets []Secret) []corev1.Secret {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, secrets); err != nil {
		t.Fatal(err)
	}
	var list corev1.List
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("decoding our List: %v", err)
	}
	if list.APIVersion != "v1" || list.Kind != "List" {
		t.Errorf("list is %s %s", list.APIVersion, list.Kind)
	}
	var out []corev1.Secret
	for _, item := range list.Items {
		var s corev1.Secret
		dec := json.NewDecoder(bytes.NewReader(item.Raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("decoding a List item: %v", err)
		}
		out = append(out, s)
	}
	return out
}

// TestOutputDecodes checks what the API server checks of an image pull
// Secret, for several namespaces, labels and annotations that need quoting:
// the two errors of the Kubernetes docs (invalid base64: "no objects passed
// to create"; a value that is no docker config: "data[.dockerconfigjson]:
// invalid value") cannot come from our output.
func TestOutputDecodes(t *testing.T) {
	meta := Meta{
		Name: "regcred.v2",
		Labels: map[string]string{
			"app.kubernetes.io/name": "web", "yes": "no", "n": "0123", "empty": "", "true": "null",
		},
		Annotations: map[string]string{
			"note":                     "hello: world # not a comment\n- not a list\n\ttab \"quoted\" 'single' \\ ä \u2028 \x00 😀",
			"example.com/yaml-special": "{[&*!|>'%@`]}",
			"n":                        "1e3",
			"empty":                    "",
			"dot":                      ".inf",
		},
	}
	entries := []Entry{
		{Server: "https://index.docker.io/v1/", Username: "hub", Password: "p"},
		{Server: "localhost:5443", Username: "l", Password: "p:l", Email: "e@x"},
	}
	namespaces := []string{"default", "team-a", "0-numeric"}
	secrets, err := Build(meta, namespaces, entries)
	if err != nil {
		t.Fatal(err)
	}
	for format, decoded := range map[string][]corev1.Secret{
		"yaml": secretsFromYAML(t, secrets),
		"json": secretsFromJSON(t, secrets),
	} {
		if len(decoded) != len(namespaces) {
			t.Fatalf("-o %s: %d Secrets", format, len(decoded))
		}
		for i, s := range decoded {
			if s.APIVersion != "v1" || s.Kind != "Secret" || s.Type != corev1.SecretTypeDockerConfigJson ||
				s.Name != meta.Name || s.Namespace != namespaces[i] {
				t.Errorf("-o %s: Secret %d is %s %s %s %s/%s", format, i, s.APIVersion, s.Kind, s.Type, s.Namespace, s.Name)
			}
			if !reflect.DeepEqual(s.Labels, meta.Labels) || !reflect.DeepEqual(s.Annotations, meta.Annotations) {
				t.Errorf("-o %s: metadata\n got %q %q\nwant %q %q", format, s.Labels, s.Annotations, meta.Labels, meta.Annotations)
			}
			if len(s.Data) != 1 || len(s.StringData) != 0 {
				t.Errorf("-o %s: data keys %v", format, s.Data)
			}
			// The API server's check, and the kubelet's reading of it.
			var cfg struct {
				Auths map[string]struct{ Username, Password, Email, Auth string }
			}
			dec := json.NewDecoder(bytes.NewReader(s.Data[corev1.DockerConfigJsonKey]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cfg); err != nil {
				t.Fatalf("-o %s: .dockerconfigjson: %v", format, err)
			}
			f, err := dockerconfig.Parse(s.Data[corev1.DockerConfigJsonKey], false)
			if err != nil || len(f.Problems) > 0 || len(f.Entries) != len(entries) {
				t.Fatalf("-o %s: our parser: %+v %v", format, f, err)
			}
			for j, e := range f.Entries {
				if e.Key != entries[j].Server || e.Username != entries[j].Username || e.Password != entries[j].Password || e.Email != entries[j].Email {
					t.Errorf("-o %s: entry %d = %+v, want %+v", format, j, e, entries[j])
				}
			}
		}
	}
}

func TestYAMLLayout(t *testing.T) {
	secrets, err := Build(Meta{Name: "regcred"}, []string{"a", "b"}, []Entry{{Server: "r.io", Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteYAML(&b, secrets); err != nil {
		t.Fatal(err)
	}
	// kubectl's order: keys sorted, as its printer writes them.
	doc := `apiVersion: v1
data:
  .dockerconfigjson: eyJhdXRocyI6eyJyLmlvIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImF1dGgiOiJkVHB3In19fQ==
kind: Secret
metadata:
  creationTimestamp: null
  name: regcred
  namespace: NS
type: kubernetes.io/dockerconfigjson
`
	want := strings.Replace(doc, "NS", "a", 1) + "---\n" + strings.Replace(doc, "NS", "b", 1)
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestBuildErrors(t *testing.T) {
	const secret = "pw-never-in-errors"
	good := []Entry{{Server: "r.io", Username: "u", Password: secret}}
	for _, tc := range []struct {
		name       string
		meta       Meta
		namespaces []string
		entries    []Entry
		want       string
	}{
		{"no name", Meta{}, []string{"a"}, good, "secret name \"\": must not be empty"},
		{"upper-case name", Meta{Name: "RegCred"}, []string{"a"}, good, "secret name \"RegCred\""},
		{"long name", Meta{Name: strings.Repeat("a", 254)}, []string{"a"}, good, "at most 253"},
		{"no namespace", Meta{Name: "r"}, nil, good, "no namespace"},
		{"dotted namespace", Meta{Name: "r"}, []string{"a.b"}, good, `namespace "a.b"`},
		{"namespace twice", Meta{Name: "r"}, []string{"a", "a"}, good, `namespace "a" given twice`},
		{"bad label key", Meta{Name: "r", Labels: map[string]string{"-x": "v"}}, []string{"a"}, good, `label key "-x"`},
		{"bad label value", Meta{Name: "r", Labels: map[string]string{"k": "a b"}}, []string{"a"}, good, `label "k" value "a b"`},
		{"bad annotation key", Meta{Name: "r", Annotations: map[string]string{"a/b/c": "v"}}, []string{"a"}, good, `annotation key "a/b/c"`},
		{"annotation not utf-8", Meta{Name: "r", Annotations: map[string]string{"k": "\xff"}}, []string{"a"}, good, "not valid UTF-8"},
		{"annotations too big", Meta{Name: "r", Annotations: map[string]string{"k": strings.Repeat("x", 256*1024)}}, []string{"a"}, good, "more than"},
		{"no credentials", Meta{Name: "r"}, []string{"a"}, nil, "no credentials to write"},
		{"empty credential", Meta{Name: "r"}, []string{"a"}, []Entry{{Server: "r.io"}}, `registry "r.io": no username or password`},
		{"empty server", Meta{Name: "r"}, []string{"a"}, []Entry{{Username: "u", Password: secret}}, "server is empty"},
		{"invalid server", Meta{Name: "r"}, []string{"a"}, []Entry{{Server: "https://bad host/", Username: "u", Password: secret}}, "not a valid registry URL"},
		{"same key, other credentials", Meta{Name: "r"}, []string{"a"}, []Entry{
			{Server: "https://index.docker.io/v1/", Username: "u", Password: secret},
			{Server: "index.docker.io", Username: "u", Password: secret + "2"},
		}, `registries "https://index.docker.io/v1/" and "index.docker.io" are the same key "index.docker.io" for the kubelet but have different credentials`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.meta, tc.namespaces, tc.entries)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "pw-never") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestDedupeKeepsFirstOfEqual(t *testing.T) {
	got, err := DockerConfigJSON([]Entry{
		{Server: "r.io", Username: "u", Password: "p"},
		{Server: "https://r.io/v1/", Username: "u", Password: "p"},
		{Server: "a.io", Username: "a", Password: "b"},
	})
	want := `{"auths":{"a.io":{"username":"a","password":"b","auth":"YTpi"},"r.io":{"username":"u","password":"p","auth":"dTpw"}}}`
	if err != nil || string(got) != want {
		t.Errorf("got %s, %v\nwant %s", got, err, want)
	}
}

// An annotation the YAML printer cannot write unchanged (kubectl -o yaml
// cannot either) is an error naming it, not a Secret that applies with
// another value; -o json carries it.
func TestYAMLRefusesWhatItCannotWrite(t *testing.T) {
	for _, v := range []string{"del \x7f", "c1 \u0080", "nel \u0085", "nonchar \ufffe"} {
		secrets, err := Build(Meta{Name: "r", Annotations: map[string]string{"ok": "fine", "note": v}}, []string{"a"}, []Entry{{Server: "r.io", Username: "u", Password: "p"}})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteYAML(&b, secrets); err == nil || !strings.Contains(err.Error(), `annotation "note": its value cannot be written as YAML`) || b.Len() != 0 {
			t.Errorf("%q: error %v, output %q", v, err, b.String())
		}
		if got := secretsFromJSON(t, secrets); got[0].Annotations["note"] != v {
			t.Errorf("%q: -o json carries %q", v, got[0].Annotations["note"])
		}
	}
}

// FuzzWriteYAML: whatever an annotation holds, -o yaml is either an error
// naming it or a Secret that decodes strictly, as the API server decodes
// it, to exactly the annotations given.
func FuzzWriteYAML(f *testing.F) {
	for _, s := range []string{"regcred", "yes", "0x1F", "a: b", "\"\\", "~", "ä\u2028", "- x", "? y", "!tag", "&a", "*a", "%x", "@x", "`x", "\x7f", "\u0085", "line\nline", " lead", "trail "} {
		f.Add(s)
	}
	entries := []Entry{{Server: "r.io", Username: "u", Password: "p"}}
	f.Fuzz(func(t *testing.T, v string) {
		meta := Meta{Name: "regcred", Annotations: map[string]string{"example.com/note": v}}
		secrets, err := Build(meta, []string{"a"}, entries)
		if err != nil {
			return // not valid UTF-8, or too long: Build's own tests
		}
		var b bytes.Buffer
		if err := WriteYAML(&b, secrets); err != nil {
			if !strings.Contains(err.Error(), `annotation "example.com/note"`) || b.Len() != 0 {
				t.Fatalf("%q: error %v, output %q", v, err, b.String())
			}
			return
		}
		var s corev1.Secret
		if err := yaml.UnmarshalStrict(b.Bytes(), &s); err != nil {
			t.Fatalf("%q: %v\n%s", v, err, b.Bytes())
		}
		if !reflect.DeepEqual(s.Annotations, meta.Annotations) {
			t.Fatalf("%q read back as %q from\n%s", v, s.Annotations, b.Bytes())
		}
	})
}
