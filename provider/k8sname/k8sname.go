// Package k8sname checks names and metadata keys by the rules the API server
// and the kubelet apply (k8s.io/apimachinery/pkg/util/validation), written
// without regexp so that nothing is compiled when the plugin starts. A test
// compares them with apimachinery's.
package k8sname

import (
	"fmt"
	"strings"
)

const (
	maxSubdomainLength     = 253
	maxLabelLength         = 63
	maxQualifiedNameLength = 63
)

// AnnotationKey checks an annotation key: a qualified name, except that case
// does not matter. The API server checks annotations so, and the kubelet
// checks tokenAttributes' service-account annotation keys the same way.
func AnnotationKey(k string) error { return QualifiedName(strings.ToLower(k)) }

// DNSLabel checks an RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
func DNSLabel(s string) error {
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

// Subdomain checks an RFC 1123 subdomain: dot-separated labels, at most 253.
func Subdomain(s string) error {
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

// QualifiedName checks a label or annotation key: [prefix/]name, prefix a DNS
// subdomain, name at most 63 of [A-Za-z0-9-_.] starting and ending
// alphanumeric.
func QualifiedName(s string) error {
	name := s
	if prefix, n, ok := strings.Cut(s, "/"); ok {
		if prefix == "" {
			return fmt.Errorf("prefix before '/' must not be empty")
		}
		if err := Subdomain(prefix); err != nil {
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

// LabelValue checks a label value: empty, or at most 63 of [A-Za-z0-9-_.] starting and ending
// alphanumeric.
func LabelValue(s string) error {
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
