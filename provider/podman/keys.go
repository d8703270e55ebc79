package podman

import (
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// dockerHub is the registry name containers/image gives Docker Hub images.
const dockerHub = "docker.io"

// authFileKey is what containers/image's normalized pass reads a key as
// (normalizeAuthFileKey): a key written with a scheme names its host only;
// a key without one stays as written; and Docker Hub's names are one.
func authFileKey(raw string) string {
	s := strings.TrimPrefix(raw, "http://")
	s = strings.TrimPrefix(s, "https://")
	if s != raw {
		s, _, _ = strings.Cut(s, "/")
	}
	return normalizeRegistry(s)
}

// normalizeRegistry gives Docker Hub's host names one name, as
// containers/image does before its normalized pass.
func normalizeRegistry(registry string) string {
	switch registry {
	case "registry-1.docker.io", dockerHub:
		return "index.docker.io"
	}
	return registry
}

// find picks the entry containers/image uses for image (its name, as the
// kubelet sends it), in its two passes:
//
//  1. exact: the image's name, then each parent namespace, then its
//     registry, each looked up as a key exactly as written;
//  2. normalized: the first entry (by key, where containers/image takes any)
//     whose key, read by authFileKey, names the image's registry, with
//     Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io)
//     all one.
//
// exact tells which pass found it.
func find(f *dockerconfig.File, image string) (e *dockerconfig.Entry, exact bool) {
	byKey := make(map[string]*dockerconfig.Entry, len(f.Entries))
	for i := range f.Entries {
		byKey[f.Entries[i].Key] = &f.Entries[i]
	}
	for k := image; ; {
		if e := byKey[k]; e != nil {
			return e, true
		}
		i := strings.LastIndexByte(k, '/')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	registry := normalizeRegistry(match.Registry(image))
	for i := range f.Entries { // sorted by Key
		if authFileKey(f.Entries[i].Key) == registry {
			return &f.Entries[i], false
		}
	}
	return nil, false
}

// answerKey is how the credential found under e goes back to the kubelet for
// image: a key found exactly as written (a namespace, or the registry
// itself), one found in the normalized pass as the image's registry.
func answerKey(e *dockerconfig.Entry, exact bool, image string) string {
	if exact {
		return e.Key
	}
	return match.Registry(image)
}

// listKey is the key an entry answers under without an image, for Keys:
// a namespaced key as written, and otherwise the registry it names, Docker
// Hub as docker.io.
func listKey(raw string) string {
	k := authFileKey(raw)
	if k == "index.docker.io" {
		return dockerHub
	}
	return k
}
