package match

import (
	"fmt"
	"strings"
)

// maxNameLength is the longest repository name (registry host included) that
// container runtimes accept.
const maxNameLength = 255

// NormalizeImage turns an image reference into the form the kubelet sends in
// a CredentialProviderRequest: registry host[:port] and repository path, with
// Docker Hub's implicit registry and "library/" namespace made explicit, and
// without tag or digest. The kubelet already sends this form; people testing
// by hand send "nginx:1.27" or "registry:5000/app@sha256:...", and get the
// same answer the kubelet would.
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
	name := ref
	if at := strings.IndexByte(name, '@'); at >= 0 {
		if err := checkDigest(name[at+1:]); err != nil {
			return "", err
		}
		name = name[:at]
	}
	domain, remainder := splitDomain(name)
	lastStart := strings.LastIndexByte(remainder, '/') + 1
	if colon := strings.IndexByte(remainder[lastStart:], ':'); colon >= 0 {
		if err := checkTag(remainder[lastStart+colon+1:]); err != nil {
			return "", err
		}
		remainder = remainder[:lastStart+colon]
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(remainder, "/") {
		remainder = "library/" + remainder
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	if err := checkPath(remainder); err != nil {
		return "", err
	}
	out := domain + "/" + remainder
	if len(out) > maxNameLength {
		return "", fmt.Errorf("image name is longer than %d characters", maxNameLength)
	}
	return out, nil
}

// splitDomain applies Docker's rule: the first path component is a registry
// host when it contains a dot or a colon, is "localhost", or has upper-case
// letters; otherwise the image is on Docker Hub.
func splitDomain(name string) (domain, remainder string) {
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return "docker.io", name
	}
	first := name[:i]
	if !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first {
		return "docker.io", name
	}
	return first, name[i+1:]
}

func checkDomain(d string) error {
	host, port := d, ""
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 {
			return fmt.Errorf("image registry has an unclosed IPv6 bracket")
		}
		host, port = d[:end+1], d[end+1:]
		if port != "" && port[0] != ':' {
			return fmt.Errorf("image registry has characters after the IPv6 address")
		}
		port = strings.TrimPrefix(port, ":")
		for _, c := range host[1:end] {
			if !isHex(byte(c)) && c != ':' && c != '.' {
				return fmt.Errorf("image registry is not a valid IPv6 address")
			}
		}
	} else {
		if c := strings.IndexByte(d, ':'); c >= 0 {
			host, port = d[:c], d[c+1:]
			if port == "" {
				return fmt.Errorf("image registry has an empty port")
			}
		}
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
		}
	}
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, ":") {
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
	for i := 0; i < len(hex); i++ {
		if !isHex(hex[i]) {
			return fmt.Errorf("image digest is not hexadecimal")
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isHex(c byte) bool   { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
