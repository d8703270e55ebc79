package pullsecret

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The API server's limits on the metadata we write, checked here so that a
// typo is reported before anything is written rather than by kubectl apply
// halfway through a list. They follow k8s.io/apimachinery/pkg/util/validation;
// a test compares them with it. Written without regexp so that nothing is
// compiled when the plugin starts.
const (
	maxSubdomainLength     = 253
	maxLabelLength         = 63
	maxAnnotationsSize     = 256 * 1024
	maxQualifiedNameLength = 63
)

func validateMeta(m Meta) error {
	if err := isSubdomain(m.Name); err != nil {
		return fmt.Errorf("secret name %q: %w", m.Name, err)
	}
	for k, v := range m.Labels {
		if err := isQualifiedName(k); err != nil {
			return fmt.Errorf("label key %q: %w", k, err)
		}
		if err := isLabelValue(v); err != nil {
			return fmt.Errorf("label %q value %q: %w", k, v, err)
		}
	}
	size := 0
	for k, v := range m.Annotations {
		if err := isQualifiedName(strings.ToLower(k)); err != nil {
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
	if err := isDNSLabel(ns); err != nil {
		return fmt.Errorf("namespace %q: %w", ns, err)
	}
	return nil
}

// isDNSLabel is RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
func isDNSLabel(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > maxLabelLength {
		return fmt.Errorf("must be at most %d characters", maxLabelLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("must consist of lower-case letters, digits and '-'")
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return fmt.Errorf("must start and end with a lower-case letter or digit")
	}
	return nil
}

// isSubdomain is RFC 1123 subdomain: dot-separated labels, at most 253.
func isSubdomain(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > maxSubdomainLength {
		return fmt.Errorf("must be at most %d characters", maxSubdomainLength)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return fmt.Errorf("must not have an empty part between dots")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("must consist of lower-case letters, digits, '-' and '.'")
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("must start and end each part with a lower-case letter or digit")
		}
	}
	return nil
}

// isQualifiedName is a label or annotation key: [prefix/]name, prefix a DNS
// subdomain, name at most 63 of [A-Za-z0-9-_.] starting and ending
// alphanumeric.
func isQualifiedName(s string) error {
	name := s
	if prefix, n, ok := strings.Cut(s, "/"); ok {
		if prefix == "" {
			return fmt.Errorf("prefix before '/' must not be empty")
		}
		if err := isSubdomain(prefix); err != nil {
			return fmt.Errorf("prefix %w", err)
		}
		name = n
	}
	if name == "" {
		return fmt.Errorf("name must not be empty")
	}
	if len(name) > maxQualifiedNameLength {
		return fmt.Errorf("name must be at most %d characters", maxQualifiedNameLength)
	}
	return checkNameChars(name, "name")
}

// isLabelValue: empty, or at most 63 of [A-Za-z0-9-_.] starting and ending
// alphanumeric.
func isLabelValue(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxLabelLength {
		return fmt.Errorf("must be at most %d characters", maxLabelLength)
	}
	return checkNameChars(s, "value")
}

func checkNameChars(s, what string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("%s must consist of letters, digits, '-', '_' and '.'", what)
		}
	}
	if !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return fmt.Errorf("%s must start and end with a letter or digit", what)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
