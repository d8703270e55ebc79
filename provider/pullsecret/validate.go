package pullsecret

import (
	"fmt"
	"unicode/utf8"

	"github.com/node-credential-provider/node-credential-provider/provider/k8sname"
)

// The API server's limits on the metadata we write, checked here so that a
// typo is reported before anything is written rather than by kubectl apply
// halfway through a list, by package k8sname.
const (
	maxAnnotationsSize = 256 * 1024
)

func validateMeta(m Meta) error {
	if err := k8sname.Subdomain(m.Name); err != nil {
		return fmt.Errorf("secret name %q: %w", m.Name, err)
	}
	for k, v := range m.Labels {
		if err := k8sname.QualifiedName(k); err != nil {
			return fmt.Errorf("label key %q: %w", k, err)
		}
		if err := k8sname.LabelValue(v); err != nil {
			return fmt.Errorf("label %q value %q: %w", k, v, err)
		}
	}
	size := 0
	for k, v := range m.Annotations {
		if err := k8sname.AnnotationKey(k); err != nil {
			return fmt.Errorf("annotation key %q: %w", k, err)
		}
		if !utf8.ValidString(v) {
			// The API server would silently replace the bytes.
			return fmt.Errorf("annotation %q: value is not valid UTF-8", k)
		}
		size += len(k) + len(v)
	}
	if size > maxAnnotationsSize {
		return fmt.Errorf("annotations are %d bytes, more than the API server's %d", size, maxAnnotationsSize)
	}
	return nil
}

func validateNamespace(ns string) error {
	if err := k8sname.DNSLabel(ns); err != nil {
		return fmt.Errorf("namespace %q: %w", ns, err)
	}
	return nil
}
