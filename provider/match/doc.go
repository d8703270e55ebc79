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
// kubelet does not is a credential that is silently never used. And the
// kubelet normalizes every key it takes from a response again (a scheme and
// a leading /v1/ or /v2/ dropped): WireKey spells a key so that it comes
// back unchanged, and spells two credentials for one key apart.
//
// NormalizeImage follows distribution/reference, which the kubelet parses
// images with; e2e/tools/kube compares both (TestReferenceParity,
// FuzzReferenceParity), and the keyring parity test compares matching with
// the kubelet's keyring.
package match
