// Package static serves one plain credential that config management or a
// hostPath mount dropped on the node as two files, a username and a
// password, for the images that chosen matchImages patterns cover.
//
// The files are read on every lookup, so a rotated password is used on the
// next pull the kubelet asks about (the kubelet's own cache, bounded by our
// cacheDuration, still applies). The answer goes back under the first
// pattern that matches, normalized as the kubelet normalizes keys
// (match.NormalizeKey, which also drops a scheme and /v1/ or /v2/); the
// patterns are matched in that normalized form, and the kubelet matches a
// key with the same rules, so it is sure to use the answer.
package static
