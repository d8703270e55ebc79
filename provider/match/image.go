package match

import (
	"fmt"
	"strings"
)

// maxPathLength is the longest repository path (the name without its
// registry host) that distribution/reference accepts.
const maxPathLength = 255

// NormalizeImage turns an image reference into the form the kubelet sends in
// a CredentialProviderRequest: registry host[:port] and repository path, with
// Docker Hub's implicit registry and "library/" namespace made explicit, and
// without tag or digest. The kubelet already sends this form; people testing
// by hand send "nginx:1.27" or "registry:5000/app@sha256:...", and get the
// same answer the kubelet would.
//
// It accepts exactly what distribution/reference's ParseNormalizedNamed
// accepts, as the kubelet parses images with it, and returns its Name(); a
// fuzz test in e2e/tools/kube compares the two.
//
// Errors never quote the input: a reference is not secret, but a garbled
// request could carry anything.
func NormalizeImage(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("image is empty")
	}
	if strings.Contains(ref, "://") {
		return "", fmt.Errorf("image must not include a URL scheme")
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c <= ' ' || c >= 0x7f {
			return "", fmt.Errorf("image contains a space, control or non-ASCII character at byte %d", i)
		}
	}
	if isImageID(ref) {
		return "", fmt.Errorf("image is a 64-character hexadecimal ID, not a repository name")
	}
	domain, remainder := splitDomain(ref)
	name := domain + "/" + remainder
	if at := strings.IndexByte(name, '@'); at >= 0 {
		if err := checkDigest(name[at+1:]); err != nil {
			return "", err
		}
		name = name[:at]
	}
	lastStart := strings.LastIndexByte(name, '/') + 1
	if colon := strings.IndexByte(name[lastStart:], ':'); colon >= 0 {
		if err := checkTag(name[lastStart+colon+1:]); err != nil {
			return "", err
		}
		name = name[:lastStart+colon]
	}
	first, rest, _ := strings.Cut(name, "/")
	path := rest
	if err := checkDomain(first); err != nil {
		// distribution/reference reads a first component that is no valid
		// host as part of the path ("my_reg.example.com/app"), and the
		// kubelet then matches it as a host like any other.
		if checkComponent(first) != nil {
			return "", err
		}
		path = name
	}
	if err := checkPath(rest); err != nil {
		return "", err
	}
	if len(path) > maxPathLength {
		return "", fmt.Errorf("image repository path is longer than %d characters", maxPathLength)
	}
	return name, nil
}

// isImageID reports a bare 64-character lower-case hex string, which
// distribution/reference refuses as a name (it is an image ID).
func isImageID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// splitDomain applies Docker's rule: the first path component is a registry
// host when it contains a dot or a colon, is "localhost", or has upper-case
// letters; otherwise the image is on Docker Hub. index.docker.io is Docker
// Hub's old name, and a one-component name on Docker Hub is in "library/".
func splitDomain(name string) (domain, remainder string) {
	first, rest, ok := strings.Cut(name, "/")
	switch {
	case !ok:
		return "docker.io", "library/" + name
	case first == "localhost" || strings.ContainsAny(first, ".:") || strings.ToLower(first) != first:
		domain, remainder = first, rest
	default:
		domain, remainder = "docker.io", name
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(remainder, "/") {
		remainder = "library/" + remainder
	}
	return domain, remainder
}

// checkDomain accepts distribution/reference's host[:port]: host labels of
// letters, digits and inner hyphens joined by dots, or an IPv6 address of hex
// digits and colons in brackets; then an optional numeric port.
func checkDomain(d string) error {
	host, port, hasPort := d, "", false
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 {
			return fmt.Errorf("image registry has an unclosed IPv6 bracket")
		}
		host, port = d[:end+1], d[end+1:]
		if port != "" && port[0] != ':' {
			return fmt.Errorf("image registry has characters after the IPv6 address")
		}
		port, hasPort = strings.CutPrefix(port, ":")
		if end == 1 {
			return fmt.Errorf("image registry is not a valid IPv6 address")
		}
		for i := 1; i < end; i++ {
			if c := host[i]; !isHex(c) && c != ':' {
				return fmt.Errorf("image registry is not a valid IPv6 address")
			}
		}
	} else {
		host, port, hasPort = strings.Cut(d, ":")
		for _, label := range strings.Split(host, ".") {
			if label == "" {
				return fmt.Errorf("image registry has an empty host label")
			}
			for i := 0; i < len(label); i++ {
				c := label[i]
				if !isAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '-' {
					return fmt.Errorf("image registry host has an invalid character %q", c)
				}
			}
			if label[0] == '-' || label[len(label)-1] == '-' {
				return fmt.Errorf("image registry host label must not start or end with '-'")
			}
		}
	}
	if hasPort && port == "" {
		return fmt.Errorf("image registry has an empty port")
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return fmt.Errorf("image registry port is not a number")
		}
	}
	return nil
}

// checkPath accepts the repository path grammar of the distribution
// reference: components of lower-case letters and digits joined by ".", "_",
// "__" or runs of "-".
func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("image has no repository path")
	}
	for _, comp := range strings.Split(p, "/") {
		if err := checkComponent(comp); err != nil {
			return err
		}
	}
	return nil
}

func checkComponent(comp string) error {
	if comp == "" {
		return fmt.Errorf("image repository path has an empty component")
	}
	sepStart := -1 // start of the separator run being read, or -1 inside a word
	for i := 0; i < len(comp); i++ {
		c := comp[i]
		switch {
		case isAlnum(c):
			if sepStart >= 0 && !validSeparator(comp[sepStart:i]) {
				return fmt.Errorf("image repository path has an invalid separator")
			}
			sepStart = -1
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return fmt.Errorf("image repository path component must start with a lower-case letter or digit")
			}
			if sepStart < 0 {
				sepStart = i
			}
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("image repository path must be lower case")
		default:
			return fmt.Errorf("image repository path has an invalid character %q", c)
		}
	}
	if sepStart >= 0 {
		return fmt.Errorf("image repository path component must end with a lower-case letter or digit")
	}
	return nil
}

func validSeparator(sep string) bool {
	return sep == "." || sep == "_" || sep == "__" || strings.Trim(sep, "-") == ""
}

func checkTag(t string) error {
	if t == "" || len(t) > 128 {
		return fmt.Errorf("image tag must be 1 to 128 characters")
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && !(i > 0 && (c == '.' || c == '-')) {
			return fmt.Errorf("image tag has an invalid character %q", c)
		}
	}
	return nil
}

func checkDigest(d string) error {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || algo == "" || hex == "" {
		return fmt.Errorf("image digest must be ALGORITHM:HEX")
	}
	// The algorithms go-digest accepts (the kubelet links their hash
	// functions), with the length of their lower-case hex encoding.
	n := 0
	switch algo {
	case "sha256":
		n = 64
	case "sha384":
		n = 96
	case "sha512":
		n = 128
	default:
		return fmt.Errorf("image digest algorithm must be sha256, sha384 or sha512")
	}
	if len(hex) != n {
		return fmt.Errorf("image digest must have %d hexadecimal digits for %s", n, algo)
	}
	for i := 0; i < len(hex); i++ {
		if !isLowerHex(hex[i]) {
			return fmt.Errorf("image digest must be lower-case hexadecimal")
		}
	}
	return nil
}

func isAlnum(c byte) bool    { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
func isHex(c byte) bool      { return isLowerHex(c) || c >= 'A' && c <= 'F' }
