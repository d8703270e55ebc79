package match

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// DefaultRegistryKey is the key under which Docker Hub credentials are
// stored by `docker login` (after normalization). The kubelet uses an entry
// under this key only as a fallback for Docker Hub images that no other key
// matched.
const DefaultRegistryKey = "index.docker.io"

// NormalizeKey turns a key as written in a docker config file (or returned in
// a plugin response) into the form the kubelet's keyring stores it in: the
// scheme is dropped, a leading /v1/ or /v2/ of the path is dropped, and a
// path of "/" is dropped. It fails when the key does not parse as a URL; the
// kubelet ignores such entries.
func NormalizeKey(key string) (string, error) {
	if !strings.HasPrefix(key, "https://") && !strings.HasPrefix(key, "http://") {
		key = "https://" + key
	}
	u, err := url.Parse(key)
	if err != nil {
		return "", errInvalidKey
	}
	p := u.Path
	if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, nil
	}
	return u.Host + p, nil
}

// PatternKey is the key a matchImages pattern answers under: the pattern as
// the kubelet parses a matchImages entry (host[:port] and the decoded path,
// a path of "/" dropped), with no scheme or /v1/ /v2/ stripped, because the
// kubelet matches matchImages literally. WireKey spells it for a response.
// A pattern written with a scheme is a docker config key
// ("https://index.docker.io/v1/"), and is normalized as one (NormalizeKey).
func PatternKey(pattern string) (string, error) {
	if strings.HasPrefix(pattern, "https://") || strings.HasPrefix(pattern, "http://") {
		return NormalizeKey(pattern)
	}
	u, err := url.Parse("https://" + pattern)
	if err != nil || u.Host == "" {
		return "", errInvalidKey
	}
	if u.Path == "" || u.Path == "/" {
		return u.Host, nil
	}
	return u.Host + u.Path, nil
}

// WireKey returns the n-th spelling (from 0) of key, a key in the form the
// kubelet's keyring stores it (NormalizeKey's or PatternKey's), that the
// kubelet reads back as exactly key when it takes it from our response: it
// drops a scheme and then a leading /v1/ or /v2/ of the path once. So
// "quay.io/v2/team" goes out as "quay.io/v1/v2/team". Distinct n give
// distinct spellings, so that two credentials for one key can both be sent
// in the response's auth map (the kubelet keeps both, as it does for
// "https://quay.io/v1/" and "quay.io" in one docker config). It fails when
// no spelling is read back as key, or when fewer than n+1 exist.
func WireKey(key string, n int) (string, error) {
	host, path := key, ""
	if i := strings.IndexByte(key, '/'); i >= 0 {
		host, path = key[:i], key[i:]
	}
	prefixes := []string{"", "/v1", "/v2"}
	if strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v2/") {
		prefixes = prefixes[1:] // the kubelet strips one; add one to strip
	}
	found := 0
	for _, prefix := range prefixes {
		tail := path
		if prefix != "" && tail == "" {
			tail = "/"
		}
		for _, scheme := range [...]string{"", "https://", "http://"} {
			w := scheme + host + prefix + tail
			if back, err := NormalizeKey(w); err != nil || back != key {
				continue
			}
			if found == n {
				return w, nil
			}
			found++
		}
	}
	if found == 0 {
		back, err := NormalizeKey(key)
		if err != nil {
			return "", errInvalidKey
		}
		return "", fmt.Errorf("no key we can send is read back by the kubelet as %q (it reads %q as %q)", key, key, back)
	}
	return "", fmt.Errorf("more than %d credentials for %q", found, key)
}

type matchError string

func (e matchError) Error() string { return string(e) }

// errInvalidKey deliberately does not wrap url.Parse's error: that error
// quotes the whole input, and a malformed key may hold a pasted secret.
const errInvalidKey = matchError("not a valid registry URL")

// parsed is a schemeless URL split the way the kubelet splits it.
type parsed struct {
	labels []string
	port   string
	path   string
}

func parse(s string) (parsed, bool) {
	u, err := url.Parse("https://" + s)
	if err != nil {
		return parsed{}, false
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return parsed{labels: strings.Split(host, "."), port: port, path: u.Path}, true
}

// Matches reports whether pattern (a normalized key or a matchImages entry)
// matches image (a normalized image without tag or digest) by the kubelet's
// rules. A pattern or image that does not parse matches nothing, as in the
// kubelet.
func Matches(pattern, image string) bool {
	g, t, ok := parseBoth(pattern, image)
	return ok && matchParsed(g, t)
}

func parseBoth(pattern, image string) (g, t parsed, ok bool) {
	if g, ok = parse(pattern); !ok {
		return g, t, false
	}
	t, ok = parse(image)
	return g, t, ok
}

func matchParsed(g, t parsed) bool {
	if g.port != t.port || len(g.labels) != len(t.labels) {
		return false
	}
	if !strings.HasPrefix(t.path, g.path) {
		return false
	}
	for i, gl := range g.labels {
		ok, err := filepath.Match(gl, t.labels[i])
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// SameHost reports whether pattern's host part (labels and port, ignoring
// its path) matches image's host. It tells whether a path-scoped key could
// apply to some image on the same registry as image.
func SameHost(pattern, image string) bool {
	g, t, ok := parseBoth(pattern, image)
	g.path = ""
	return ok && matchParsed(g, t)
}

// NearMiss explains why pattern, which does not match image, comes close:
// the right registry but another repository path, or the right host with
// another port. It returns "" for patterns that are simply about another
// registry. It is for people (explain, -v), who otherwise see a 401.
func NearMiss(pattern, image string) string {
	g, t, ok := parseBoth(pattern, image)
	if !ok || matchParsed(g, t) {
		return ""
	}
	if g.port == t.port && SameHost(pattern, image) {
		return fmt.Sprintf("it covers the path %q and below, not this repository", strings.TrimPrefix(g.path, "/"))
	}
	g.port, g.path = t.port, ""
	if matchParsed(g, t) {
		if t.port == "" {
			return "it names a port and the image has none (the kubelet compares ports literally)"
		}
		return fmt.Sprintf("the image's port is %s (the kubelet compares ports literally; add the port to the key)", t.port)
	}
	return ""
}

// HasPath reports whether a normalized key is scoped to a repository path
// rather than to a whole registry.
func HasPath(key string) bool {
	return strings.Contains(key, "/")
}

// IsDockerHub reports whether a normalized image is on Docker Hub, the only
// registry for which an entry under DefaultRegistryKey is a fallback.
//
// The kubelet's own test is looser: it also treats "localhost/app" and any
// first component without a dot or colon as Docker Hub, and so would hand
// Docker Hub credentials to a local registry. We normalize images first, so
// docker.io is the one name left for Docker Hub, and we never send its
// credentials elsewhere.
func IsDockerHub(image string) bool {
	return Registry(image) == "docker.io"
}

// Registry returns the host[:port] part of a normalized image, which is the
// kubelet's cache key for cacheKeyType Registry.
func Registry(image string) string {
	host, _, _ := strings.Cut(image, "/")
	return host
}

// ValidatePattern checks a matchImages entry or a configured key the way an
// operator needs: it must parse as the kubelet parses it, and carry no
// scheme, no glob in port or path (the kubelet compares those literally),
// no query and no empty host label; and, as our sources answer under their
// matchImages, a key must exist that the kubelet reads back as the pattern.
func ValidatePattern(p string) error {
	if err := validatePattern(p); err != nil {
		return err
	}
	k, err := PatternKey(p)
	if err == nil {
		_, err = WireKey(k, 0)
	}
	if err != nil {
		return fmt.Errorf("cannot be answered: %w", err)
	}
	return nil
}

func validatePattern(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	if strings.Contains(p, "://") {
		return errors.New("must not include a URL scheme")
	}
	if strings.ContainsAny(p, "?#") {
		return errors.New("'?' and '#' start a URL query or fragment; the kubelet's globs are '*' and character ranges only, and '?' breaks the pattern")
	}
	hostport, _, _ := strings.Cut(p, "/")
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") && strings.ContainsAny(hostport[i:], "*[]") {
		return errors.New("no glob in the port: the kubelet compares ports literally")
	}
	u, err := url.Parse("https://" + p)
	if err != nil || u.Host == "" {
		return errors.New("not a valid host[:port][/path]")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	if strings.ContainsAny(port, "*[]") {
		return errors.New("no glob in the port: the kubelet compares ports literally")
	}
	if strings.ContainsAny(u.Path, "*[]") {
		return errors.New("no glob in the path: the kubelet compares paths as plain prefixes")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" {
			return errors.New("empty host label")
		}
		if _, err := filepath.Match(label, ""); err != nil {
			return errors.New("bad glob in a host label")
		}
	}
	return nil
}
