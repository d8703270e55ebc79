// Package static serves one plain credential that config management or a
// hostPath mount dropped on the node as two files, a username and a
// password, for the images that chosen matchImages patterns cover.
//
// The files are read on every lookup, so a rotated password is used on the
// next pull the kubelet asks about (the kubelet's own cache, bounded by our
// cacheDuration, still applies). The answer goes back under the first
// pattern that matches (match.PatternKey): patterns are matched literally,
// as the kubelet matches its own matchImages, so "quay.io/v2/team" covers
// quay.io/v2/team/app; the response spells the key so that the kubelet,
// which drops a leading /v1/ or /v2/ from response keys, reads back that
// same key (match.WireKey), and is sure to use the answer.
package static
