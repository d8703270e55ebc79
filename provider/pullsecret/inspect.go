package pullsecret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
)

// MaxInspectSize bounds what inspect reads: the API server caps a Secret at
// 1 MiB, and a file of many Secrets is still far below this.
const MaxInspectSize = 32 << 20

// Report is what inspect found in one Secret or docker config.
type Report struct {
	// Kind is "Secret" or "docker config".
	Kind      string
	Name      string
	Namespace string
	Type      string
	// Entries are the registries of the config, sorted by server.
	Entries []ReportEntry
	// Problems say why the kubelet would get no credential, or not the
	// intended one, from this Secret. Never secret.
	Problems []string
}

// ReportEntry is one registry of a config.
type ReportEntry struct {
	Server   string
	Username string
	// Password is the secret; the printer redacts it unless asked not to.
	Password string
	Email    string
	// Unusable says why the entry gives no credential, "" when it does.
	Unusable string
}

// objectJSON is the part of any Kubernetes object inspect looks at.
type objectJSON struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string]string `json:"data"`
	StringData map[string]string `json:"stringData"`
	Items      []json.RawMessage `json:"items"`
}

// ReadInspectInput reads r up to MaxInspectSize.
func ReadInspectInput(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInspectSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInspectSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxInspectSize>>20)
	}
	return data, nil
}

// Inspect reads Secret manifests (YAML or JSON, one or many documents,
// Lists included) or a docker config file, and reports every image pull
// Secret and docker config in it. Other objects are passed over. Errors say
// where the input is wrong without quoting it.
func Inspect(data []byte) ([]Report, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	var reports []Report
	for _, d := range docs {
		rs, err := inspectObject(d.json, 0)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", d.index, err)
		}
		reports = append(reports, rs...)
	}
	if len(reports) == 0 {
		return nil, errors.New("no image pull Secret and no docker config found")
	}
	return reports, nil
}

type document struct {
	index int // 1-based, for messages
	json  []byte
}

// splitDocuments turns the input into JSON documents. JSON input (one value
// or a stream, as `kubectl get -o json` or a docker config) is decoded as is;
// anything else is YAML, split on "---" lines as kubectl splits it.
func splitDocuments(data []byte) ([]document, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("input is empty")
	}
	var docs []document
	if trimmed[0] == '{' || trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for i := 1; ; i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("document %d: %w", i, provider.DescribeJSONError(err))
			}
			docs = append(docs, document{index: i, json: raw})
		}
		return docs, nil
	}
	line := 1
	for i, chunk := range splitYAML(data) {
		start := line
		line += bytes.Count(chunk, []byte("\n")) + 1
		j, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, provider.DescribeYAMLError(err, start))
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
			continue // only comments, or an empty document
		}
		docs = append(docs, document{index: i + 1, json: j})
	}
	return docs, nil
}

// splitYAML splits at lines that are "---" and trailing space only, the rule
// of apimachinery's YAMLReader, which kubectl uses. The separator lines are
// dropped, so each chunk's line count plus one is where the next begins.
func splitYAML(data []byte) [][]byte {
	var chunks [][]byte
	var cur []byte
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if bytes.HasPrefix(line, []byte("---")) && len(bytes.TrimSpace(line[3:])) == 0 {
			chunks = append(chunks, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(chunks, cur)
}

// maxListDepth bounds Lists of Lists, which no tool writes.
const maxListDepth = 4

func inspectObject(raw []byte, depth int) ([]Report, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, provider.DescribeJSONError(err)
	}
	if top == nil {
		return nil, errors.New("not an object")
	}
	if _, hasKind := top["kind"]; !hasKind {
		if _, hasAPI := top["apiVersion"]; !hasAPI {
			// No Kubernetes object: a docker config file itself.
			return []Report{inspectConfig(Report{Kind: "docker config"}, raw, false)}, nil
		}
	}
	var obj objectJSON
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, provider.DescribeJSONError(err)
	}
	switch {
	case obj.Kind == "Secret":
		r, ok := inspectSecret(&obj)
		if !ok {
			return nil, nil
		}
		return []Report{r}, nil
	case strings.HasSuffix(obj.Kind, "List"):
		if depth >= maxListDepth {
			return nil, errors.New("Lists nested too deeply")
		}
		var out []Report
		for i, item := range obj.Items {
			rs, err := inspectObject(item, depth+1)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, rs...)
		}
		return out, nil
	}
	return nil, nil
}

// inspectSecret reports a Secret that is, or was meant to be, an image pull
// Secret; others are passed over.
func inspectSecret(obj *objectJSON) (Report, bool) {
	r := Report{Kind: "Secret", Name: obj.Metadata.Name, Namespace: obj.Metadata.Namespace, Type: obj.Type}
	value, encoded, key, found := secretValue(obj)
	legacy := false
	switch obj.Type {
	case TypeDockerConfigJSON:
	case TypeDockercfg:
		legacy = true
	default:
		if !found {
			return r, false
		}
		legacy = key == KeyDockercfg
		want := TypeDockerConfigJSON
		if legacy {
			want = TypeDockercfg
		}
		// What `kubectl create secret generic --from-file` makes without
		// --type: it applies, and the kubelet ignores it.
		r.Problems = append(r.Problems, fmt.Sprintf("type is %q: the kubelet reads imagePullSecrets only of type %s", displayType(obj.Type), want))
	}
	wantKey := KeyDockerConfigJSON
	if legacy {
		wantKey = KeyDockercfg
	}
	if !found || key != wantKey {
		r.Problems = append(r.Problems, fmt.Sprintf("no %q key in data: the API server rejects a %s Secret without it", wantKey, displayType(obj.Type)))
		return r, true
	}
	if encoded {
		decoded, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("data[%s] is not valid base64: kubectl fails with \"no objects passed to create\"", key))
			return r, true
		}
		value = string(decoded)
	}
	r = inspectConfig(r, []byte(value), legacy)
	return r, true
}

// secretValue finds the docker config of a Secret: stringData wins over
// data, as the API server merges them.
func secretValue(obj *objectJSON) (value string, encoded bool, key string, found bool) {
	for _, k := range []string{KeyDockerConfigJSON, KeyDockercfg} {
		if v, ok := obj.StringData[k]; ok {
			return v, false, k, true
		}
		if v, ok := obj.Data[k]; ok {
			return v, true, k, true
		}
	}
	return "", false, "", false
}

func displayType(t string) string {
	if t == "" {
		return "Opaque"
	}
	return t
}

// inspectConfig reports the registries of a docker config and what would
// keep the kubelet from using them.
func inspectConfig(r Report, data []byte, legacy bool) Report {
	f, err := dockerconfig.Parse(data, legacy)
	if err != nil {
		if r.Kind == "Secret" {
			r.Problems = append(r.Problems, fmt.Sprintf("the config does not parse (%v): the API server rejects it with \"data[%s]: invalid value\"", err, KeyDockerConfigJSON))
		} else {
			r.Problems = append(r.Problems, fmt.Sprintf("does not parse as a docker config: %v", err))
		}
		return r
	}
	if r.Kind == "Secret" && !legacy && f.Format == dockerconfig.FormatDockercfg {
		r.Problems = append(r.Problems, fmt.Sprintf("data[%s] holds the legacy .dockercfg layout without \"auths\": the kubelet finds no credentials in it", KeyDockerConfigJSON))
	}
	usable := 0
	for _, e := range f.Entries {
		re := ReportEntry{Server: e.Key, Username: e.Username, Password: e.Password, Email: e.Email}
		switch {
		case e.Usable():
			usable++
		case e.HasIdentityToken:
			re.Unusable = "only an identitytoken, which the kubelet does not use"
		case e.HasRegistryToken:
			re.Unusable = "only a registrytoken, which the kubelet does not use"
		case f.CredsStore != "":
			re.Unusable = fmt.Sprintf("empty: docker keeps the secret in credsStore %q", f.CredsStore)
		default:
			re.Unusable = "no username or password"
		}
		r.Entries = append(r.Entries, re)
	}
	for _, p := range f.Problems {
		r.Problems = append(r.Problems, fmt.Sprintf("%v: the kubelet ignores a config with a broken entry entirely", p))
	}
	if usable == 0 {
		msg := "no usable credentials"
		switch {
		case f.CredsStore != "":
			msg += fmt.Sprintf(": a copy of a config whose secrets docker keeps in credsStore %q; export the real credentials with node-credential-provider export-secret", f.CredsStore)
		case len(f.CredHelpers) > 0:
			msg += ": a copy of a config whose secrets docker keeps in credHelpers; export the real credentials with node-credential-provider export-secret"
		}
		r.Problems = append(r.Problems, msg)
	} else if len(f.CredHelpers) > 0 || f.CredsStore != "" {
		// Entries that exist are fine; registries only in a helper are lost.
		regs := make([]string, 0, len(f.CredHelpers))
		for reg := range f.CredHelpers {
			if !hasServer(r.Entries, reg) {
				regs = append(regs, reg)
			}
		}
		sort.Strings(regs)
		for _, reg := range regs {
			r.Problems = append(r.Problems, fmt.Sprintf("registry %q is only in credHelper %q, which the kubelet cannot run: it has no credential here", reg, f.CredHelpers[reg]))
		}
	}
	return r
}

func hasServer(entries []ReportEntry, server string) bool {
	for _, e := range entries {
		if e.Server == server {
			return true
		}
	}
	return false
}
