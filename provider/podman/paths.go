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
// operator chose it, so it must exist); otherwise, each optional,
// $XDG_RUNTIME_DIR/containers/auth.json when XDG_RUNTIME_DIR is set,
// RootAuthFile, then $HOME/.config/containers/auth.json, the persistent file
// `podman login` writes when the runtime one is not used (containers-auth.json(5)).
// The docker config fallback the containers tools also read is the
// dockerConfig source's business.
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
	if home := getenv("HOME"); home != "" {
		paths = append(paths, filepath.Join(home, ".config", "containers", "auth.json"))
	}
	return paths, true
}

// Sources returns a source per path; when paths is empty, DefaultPaths.
// The sources share helpers.
func Sources(paths []string, getenv func(string) string, helpers credhelper.Factory) []provider.Source {
	optional := false
	if len(paths) == 0 {
		paths, optional = DefaultPaths(getenv)
	}
	out := make([]provider.Source, 0, len(paths))
	for _, p := range paths {
		out = append(out, &Source{Path: p, Optional: optional, Helpers: helpers})
	}
	return out
}
