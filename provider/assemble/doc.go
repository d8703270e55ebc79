// Package assemble makes what answers one request: it turns a configuration
// (package config, plain settings) and the facts of the run (who is
// pulling, the kubelet's root dir, and, through the context, the run's
// deadline) into a provider.Store of sources in order, each named,
// restricted to its matchImages and denied to pods its allow rules exclude,
// with the credential helpers and the node-local cache they share.
//
// kinds.go is the one place where a kind of source is registered: its
// constructor and its validate-time checks (files, modes, helpers on PATH).
// Its settings and their validation are in config/sources.go.
package assemble
