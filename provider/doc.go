// Package provider resolves the credentials for one image from an ordered
// list of node-local sources, and decides how long and under which key the
// kubelet may cache the answer.
//
// A Source is one place credentials live: a docker config file, a credential
// helper, a podman auth file. Sources are consulted in order and the first one
// that holds a credential for the image answers, with every matching key it
// holds; later sources are not read, except that a source still running
// after HedgeAfter has the next ones started alongside it, and the run's
// deadline (the context) cuts short what is still running then. This
// mirrors what an operator expects of a search path and keeps one source's
// stale entry from overriding another's.
//
// Decide turns an Answer into its Outcome: the exit code, the one error
// line and the notes of plugin mode. Everything that tells what plugin mode
// does (explain, export-secret) takes the outcome from there.
package provider
