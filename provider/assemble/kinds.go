package assemble

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/podman"
	"github.com/node-credential-provider/node-credential-provider/provider/static"
)

// kind is what a kind of source does. Its settings, their defaults and
// their validation are config's (config/sources.go).
type kind struct {
	// build makes the provider sources of one configured source, in order;
	// assemble names, restricts and scopes each of them.
	build func(s *config.Source, b *builder) []provider.Source
	// check is what `validate` checks on this node: that files exist, parse
	// and have safe modes, and which helpers must be on PATH (c.helper).
	check func(s *config.Source, c *Checker)
}

// kinds registers every kind of source, by its field name in config.Source.
// Adding a kind: its settings in config/sources.go, its package under
// provider/, and one entry here (CONTRIBUTING.md).
var kinds = map[string]kind{
	"dockerConfig": {
		build: func(s *config.Source, b *builder) []provider.Source {
			return dockerconfig.Sources(s.DockerConfig.Paths, b.facts.KubeletRootDir, b.helpers)
		},
		check: checkDockerConfig,
	},
	"credentialHelper": {
		build: func(s *config.Source, b *builder) []provider.Source {
			return []provider.Source{&credhelper.Source{Helper: b.helpers.Helper(s.CredentialHelper.Helper)}}
		},
		check: func(s *config.Source, c *Checker) { c.helper(s.CredentialHelper.Helper, s.Name) },
	},
	"podmanAuth": {
		build: func(s *config.Source, b *builder) []provider.Source {
			var paths []string
			if s.PodmanAuth.Path != "" {
				paths = []string{s.PodmanAuth.Path}
			}
			return podman.Sources(paths, os.Getenv, b.helpers)
		},
		check: func(s *config.Source, c *Checker) {
			if s.PodmanAuth.Path != "" {
				c.File(s.PodmanAuth.Path, s.Name, true)
			}
		},
	},
	"static": {
		build: func(s *config.Source, _ *builder) []provider.Source {
			// Validate has checked the patterns; one that still does not
			// normalize is left out of the keys, never a wrong key.
			src, _ := static.New(s.MatchImages, s.Static.UsernameFile, s.Static.PasswordFile)
			return []provider.Source{src}
		},
		check: func(s *config.Source, c *Checker) {
			c.File(s.Static.UsernameFile, s.Name, true)
			c.File(s.Static.PasswordFile, s.Name, true)
		},
	},
}

// kindOf returns the registered kind of s, if s sets exactly one.
func kindOf(s *config.Source) (kind, bool) {
	settings := s.Settings()
	if settings == nil {
		return kind{}, false
	}
	k, ok := kinds[settings.Kind()]
	return k, ok
}

func checkDockerConfig(s *config.Source, c *Checker) {
	paths, optional := s.DockerConfig.Paths, false
	if len(paths) == 0 {
		home, _ := os.UserHomeDir()
		paths, optional = dockerconfig.DefaultPaths(c.kubeletRootDir, home), true
	}
	found := 0
	for _, p := range paths {
		if optional {
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		found++
		if !c.File(p, s.Name, true) {
			continue
		}
		f, err := dockerconfig.Load(p)
		if err != nil {
			c.fail("%s: %s: %v", s.Name, p, err)
			continue
		}
		for _, prob := range f.Problems {
			c.fail("%s: %s: %v", s.Name, p, prob)
		}
		usable := 0
		for _, e := range f.Entries {
			if e.Usable() {
				usable++
			}
		}
		c.ok("%s: %s: %s with %d usable entries", s.Name, p, f.Format, usable)
		if f.CredsStore != "" {
			c.helper(f.CredsStore, p+" credsStore")
		}
		for _, reg := range slices.Sorted(maps.Keys(f.CredHelpers)) {
			c.helper(f.CredHelpers[reg], p+" credHelpers")
		}
	}
	if found == 0 {
		c.fail("%s: none of the search list exists: %v", s.Name, paths)
	}
}
