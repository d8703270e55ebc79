package podman

import "strings"

// key is an auth.json key as containers/image reads it.
type key struct {
	// components are the host and then each path component.
	components []string
	// legacy keys were written with a scheme and name only their host.
	legacy bool
}

// dockerHub is the registry name containers/image gives Docker Hub images;
// hubAliases are the other host names that mean it in a legacy key.
const dockerHub = "docker.io"

var hubAliases = map[string]bool{"index.docker.io": true, "registry-1.docker.io": true, "docker.io": true}

func parseKey(raw string) key {
	s := raw
	legacy := false
	for _, scheme := range []string{"http://", "https://"} {
		if strings.HasPrefix(s, scheme) {
			s, legacy = s[len(scheme):], true
		}
	}
	if legacy {
		s, _, _ = strings.Cut(s, "/")
	}
	k := key{components: strings.Split(s, "/"), legacy: legacy}
	// index.docker.io and registry-1.docker.io without a scheme name Docker
	// Hub only as legacy keys.
	if len(k.components) == 1 && k.components[0] != dockerHub && hubAliases[k.components[0]] {
		k.legacy = true
	}
	return k
}

// rank says how specifically k applies to an image split into components:
// 0 when it does not apply, 1 for a legacy key of the image's registry, and
// 1 + the number of components for a namespaced key that is a
// component-wise prefix of the image.
func (k key) rank(image []string) int {
	if k.legacy {
		if len(k.components) == 1 && sameRegistry(k.components[0], image[0]) {
			return 1
		}
		return 0
	}
	if len(k.components) > len(image) {
		return 0
	}
	for i, c := range k.components {
		if c != image[i] {
			return 0
		}
	}
	return 1 + len(k.components)
}

func sameRegistry(keyHost, imageHost string) bool {
	if imageHost == dockerHub {
		return hubAliases[keyHost]
	}
	return keyHost == imageHost
}

// answerKey is how the credential under k goes back to the kubelet for an
// image on registry: a namespaced key as written, a legacy key as the
// registry itself.
func (k key) answerKey(registry string) string {
	if k.legacy {
		return registry
	}
	return strings.Join(k.components, "/")
}

// listKey is answerKey without an image, for Keys.
func (k key) listKey() string {
	if k.legacy && hubAliases[k.components[0]] {
		return dockerHub
	}
	return strings.Join(k.components, "/")
}

func splitImage(image string) []string { return strings.Split(image, "/") }
