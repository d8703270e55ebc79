// Package match implements the kubelet's rules for matching registry keys and
// matchImages patterns against images, and the normalization of images and
// keys that the kubelet applies before it matches.
//
// The rules are those of the kubelet's node keyring (k8s.io/kubernetes
// pkg/credentialprovider, v1.37): both sides are parsed as schemeless URLs;
// ports must be equal; hosts must have the same number of dot-separated
// labels, each compared with filepath.Match; the pattern's path must be a
// plain string prefix of the image's path. Everything is case-sensitive.
//
// Being almost right is not enough here: the kubelet applies exactly these
// rules to the keys a plugin returns, so a key we think matches but the
// kubelet does not is a credential that is silently never used.
package match
