package podman

import (
	"path/filepath"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
)

// RootAuthFile is where podman running as root keeps its credentials when
// XDG_RUNTIME_DIR is unset, as it is for the kubelet under systemd.
const RootAuthFile = "/run/containers/0/auth.json"

// DefaultPaths is the search list: $REGISTRY_AUTH_FILE alone when set (the
// operator chose it, so it must exist); otherwise
// $XDG_RUNTIME_DIR/containers/auth.json when XDG_RUNTIME_DIR is set, then
// RootAuthFile, both optional.
func DefaultPaths(getenv func(string) string) (paths []string, optional bool) {
	if p := getenv("REGISTRY_AUTH_FILE"); p != "" {
		return []string{p}, false
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		paths = append(paths, filepath.Join(dir, "containers", "auth.json"))
	}
	if len(paths) == 0 || paths[0] != RootAuthFile {
		paths = append(paths, RootAuthFile)
	}
	return paths, true
}

// Sources returns a source per path; when paths is empty, DefaultPaths.
func Sources(paths []string, getenv func(string) string) []provider.Source {
	optional := false
	if len(paths) == 0 {
		paths, optional = DefaultPaths(getenv)
	}
	helpers := credhelper.Shared(nil)
	out := make([]provider.Source, 0, len(paths))
	for _, p := range paths {
		out = append(out, &Source{Path: p, Optional: optional, Helpers: helpers})
	}
	return out
}
