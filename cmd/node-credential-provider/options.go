package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/internal/vlog"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/assemble"
	"github.com/node-credential-provider/node-credential-provider/provider/plugin"
	"github.com/node-credential-provider/node-credential-provider/provider/scope"
)

// The run's deadline: the kubelet SIGKILLs a plugin 60 s after starting it
// and uses nothing it said, so we answer well before, leaving room for a
// loaded node to write and read the answer.
const (
	defaultDeadline = 45 * time.Second
	maxDeadline     = 55 * time.Second
)

// processStart is when the run began, as near as we can tell: the deadline
// counts from it, as the kubelet's does.
var processStart = time.Now()

// sourceOptions are the flags that choose where credentials come from,
// shared by plugin mode and the commands for people.
type sourceOptions struct {
	configFile     string
	dockerConfigs  []string
	kubeletRootDir string
	cacheDuration  time.Duration
	cacheDir       string
	noCache        bool
	deadline       time.Duration
	// plugin is set in plugin mode, which the kubelet runs from a working
	// directory of its own: there a relative --docker-config is an error,
	// while the commands people run resolve it against theirs.
	plugin bool
}

func (o *sourceOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.configFile, "config", "",
		"our configuration file (config.node-credential-provider.io/v1alpha1): sources in order, helpers, cache, scoping; see config/examples")
	fs.StringArrayVar(&o.dockerConfigs, "docker-config", nil,
		"docker config.json or .dockercfg to read, repeatable, consulted in order (without --config); default: the kubelet's search list (<kubelet-root-dir>/config.json, $HOME/.docker/config.json, /.docker/config.json, then .dockercfg in <kubelet-root-dir>, $HOME, /); a relative path is resolved against the working directory, except in plugin mode (what the kubelet runs), where it is an error")
	fs.StringVar(&o.kubeletRootDir, "kubelet-root-dir", "/var/lib/kubelet", "the kubelet's --root-dir, first place of the default search list")
	fs.DurationVar(&o.cacheDuration, "cache-duration", config.DefaultCacheDuration,
		"how long the kubelet may cache an answer with credentials (overrides the config's cacheDuration); 0s: ask us on every pull; misses are never cached")
	fs.StringVar(&o.cacheDir, "cache-dir", config.DefaultCacheDir, "directory of the node-local cache of helper answers (overrides the config's cache.dir; holds its key and lock files, values live sealed in the kernel keyring)")
	fs.BoolVar(&o.noCache, "no-cache", false, "do not use the node-local cache: every request runs the helpers")
	fs.DurationVar(&o.deadline, "deadline", defaultDeadline,
		"the whole run answers within this, counted from the start of the process, however many helpers hang: sources still running then are cut short (logged) and the first that answered is used; at most "+maxDeadline.String()+", as the kubelet kills a plugin at 60s")
}

// load returns the configuration the flags describe.
func (o *sourceOptions) load(fs *pflag.FlagSet) (*config.Config, error) {
	if o.cacheDuration < 0 {
		return nil, errors.New("--cache-duration must not be negative")
	}
	if o.deadline <= 0 || o.deadline > maxDeadline {
		return nil, fmt.Errorf("--deadline %s: must be more than 0s and at most %s (the kubelet kills a plugin at 60s)", o.deadline, maxDeadline)
	}
	var cfg *config.Config
	if o.configFile != "" {
		if len(o.dockerConfigs) > 0 {
			return nil, errors.New("--docker-config and --config exclude each other: list the files under a dockerConfig source's paths in the config")
		}
		var err error
		if cfg, err = config.Load(o.configFile); err != nil {
			return nil, err
		}
	} else {
		paths, err := o.dockerConfigPaths()
		if err != nil {
			return nil, err
		}
		cfg = config.Default()
		cfg.Sources[0].DockerConfig.Paths = paths
		cfg.Sources[0].Name = "docker config"
	}
	if fs.Changed("cache-duration") || o.configFile == "" {
		cfg.CacheDuration = o.cacheDuration.String()
	}
	if fs.Changed("cache-dir") || o.configFile == "" {
		cfg.Cache.Dir = o.cacheDir
	}
	if o.noCache {
		cfg.Cache.Disabled = true
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// dockerConfigPaths are the --docker-config paths, absolute: errors name the
// flag the user wrote, never a field of a config file they did not.
func (o *sourceOptions) dockerConfigPaths() ([]string, error) {
	var out []string
	for _, p := range o.dockerConfigs {
		if !filepath.IsAbs(p) {
			if o.plugin {
				return nil, fmt.Errorf("--docker-config %s: must be an absolute path in plugin mode (the kubelet runs the plugin from a working directory of its own)", strconv.Quote(p))
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, fmt.Errorf("--docker-config %s: %w", strconv.Quote(p), err)
			}
			p = abs
		}
		out = append(out, p)
	}
	return out, nil
}

// resolve answers one request.
func (o *sourceOptions) resolve(cfg *config.Config, req *plugin.Request, image string) (provider.Answer, error) {
	id, err := scope.FromRequest(req.ServiceAccountToken, req.ServiceAccountAnnotations)
	if err != nil {
		// A token we cannot read must not fall back to the rules for
		// requests without one: they may allow more.
		return provider.Answer{}, err
	}
	return o.resolveFor(cfg, image, id), nil
}

// resolveFor answers image for id, as plugin mode and explain do.
func (o *sourceOptions) resolveFor(cfg *config.Config, image string, id scope.Identity) provider.Answer {
	if id.HasToken {
		vlog.V(2).Infof("image %s requested for %s", image, id)
	}
	ctx, cancel := context.WithDeadline(context.Background(), processStart.Add(o.deadline))
	defer cancel()
	return assemble.New(cfg, assemble.Facts{KubeletRootDir: o.kubeletRootDir, Identity: id}).Resolve(ctx, image)
}
