package pullsecret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"sigs.k8s.io/yaml"
)

// The Secret type and data key that kubelets read imagePullSecrets from.
const (
	TypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	KeyDockerConfigJSON  = ".dockerconfigjson"
	// The legacy pair, read by inspect only.
	TypeDockercfg = "kubernetes.io/dockercfg"
	KeyDockercfg  = ".dockercfg"
)

// Meta is what every exported Secret shares.
type Meta struct {
	Name        string
	Labels      map[string]string
	Annotations map[string]string
}

// Secret is one kubernetes.io/dockerconfigjson Secret.
type Secret struct {
	Meta
	Namespace string
	// DockerConfigJSON is the decoded value of data[".dockerconfigjson"].
	DockerConfigJSON []byte
}

// Build makes one Secret per namespace holding entries. Everything the API
// server would reject is rejected here, so that `kubectl apply` of the
// output cannot fail on its shape; errors name the offending field, never a
// credential.
func Build(meta Meta, namespaces []string, entries []Entry) ([]Secret, error) {
	if err := validateMeta(meta); err != nil {
		return nil, err
	}
	if len(namespaces) == 0 {
		return nil, fmt.Errorf("no namespace given")
	}
	seen := map[string]bool{}
	for _, ns := range namespaces {
		if err := validateNamespace(ns); err != nil {
			return nil, err
		}
		if seen[ns] {
			return nil, fmt.Errorf("namespace %q given twice", ns)
		}
		seen[ns] = true
	}
	if len(entries) == 0 {
		// A Secret without credentials is what this command exists to
		// prevent: it applies cleanly and then every pull is anonymous.
		return nil, fmt.Errorf("no credentials to write")
	}
	data, err := DockerConfigJSON(entries)
	if err != nil {
		return nil, err
	}
	out := make([]Secret, 0, len(namespaces))
	for _, ns := range namespaces {
		out = append(out, Secret{Meta: meta, Namespace: ns, DockerConfigJSON: data})
	}
	return out, nil
}

// secretJSON is the wire shape of a v1 Secret, only the fields we write, in
// the order the API server writes them.
type secretJSON struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metadataJSON      `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string][]byte `json:"data"`
}

type metadataJSON struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// CreationTimestamp is always null, as kubectl writes an object it
	// made (kubectl create --dry-run=client): the API server sets it.
	CreationTimestamp *string           `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

type listJSON struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Items      []secretJSON `json:"items"`
}

func (s *Secret) wire() secretJSON {
	return secretJSON{
		APIVersion: "v1",
		Kind:       "Secret",
		Metadata: metadataJSON{
			Name:        s.Name,
			Namespace:   s.Namespace,
			Labels:      s.Labels,
			Annotations: s.Annotations,
		},
		Type: TypeDockerConfigJSON,
		Data: map[string][]byte{KeyDockerConfigJSON: s.DockerConfigJSON},
	}
}

// WriteJSON writes the Secrets as one v1 List, the form `kubectl get -o json`
// uses for several objects and `kubectl apply -f` accepts; a List also for
// one Secret, so that scripts see one shape.
func WriteJSON(w io.Writer, secrets []Secret) error {
	list := listJSON{APIVersion: "v1", Kind: "List", Items: make([]secretJSON, 0, len(secrets))}
	for i := range secrets {
		list.Items = append(list.Items, secrets[i].wire())
	}
	b, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteYAML writes the Secrets as YAML documents separated by "---" lines,
// as kubectl -o yaml prints several objects and kubectl apply -f splits
// them. Each document is written by sigs.k8s.io/yaml, kubectl's own
// printer: the bytes of kubectl create secret docker-registry -o yaml, keys
// sorted, every scalar quoted where a YAML parser could read it as anything
// but the string.
//
// That printer cannot write every string: some control characters fail it,
// and a NEL (U+0085) reads back as a space. Names, namespaces and labels
// cannot hold them (Build); an annotation value that does is an error
// naming the annotation, never a Secret that applies with another value.
// -o json carries any value.
func WriteYAML(w io.Writer, secrets []Secret) error {
	var b bytes.Buffer
	for i := range secrets {
		if i > 0 {
			b.WriteString("---\n")
		}
		if err := annotationsSurviveYAML(secrets[i].Annotations); err != nil {
			return err
		}
		doc, err := yaml.Marshal(secrets[i].wire())
		if err != nil {
			return err
		}
		b.Write(doc)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// annotationsSurviveYAML asks the YAML library itself, value by value,
// whether it writes each annotation so that it reads back unchanged.
func annotationsSurviveYAML(annotations map[string]string) error {
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := annotations[k]
		out, err := yaml.Marshal(v)
		var back string
		if err == nil {
			err = yaml.Unmarshal(out, &back)
		}
		if err == nil && back != v {
			err = errors.New("it reads back changed")
		}
		if err != nil {
			return fmt.Errorf("annotation %q: its value cannot be written as YAML (%v), by kubectl -o yaml neither; use -o json", k, err)
		}
	}
	return nil
}
