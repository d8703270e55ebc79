package config

import (
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/node-credential-provider/node-credential-provider/cache"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/podman"
	"github.com/node-credential-provider/node-credential-provider/provider/scope"
	"github.com/node-credential-provider/node-credential-provider/provider/static"
)

// BuildOptions are the facts of one run that the configuration does not hold.
type BuildOptions struct {
	// KubeletRootDir starts the default docker config search list.
	KubeletRootDir string
	// Identity is who is pulling; the zero value is a request without a
	// service-account token.
	Identity scope.Identity
	// Unscoped ignores the allow rules and scoping: for an operator's
	// commands such as export-secret, not for the kubelet's requests.
	Unscoped bool
}

// Run is one request's store and the helpers it may run.
type Run struct {
	Store *provider.Store
	// Helpers hands out one Helper per name for the whole run, configured
	// from Config.Helpers, so that a hanging helper costs its timeout once.
	Helpers func(name string) *credhelper.Helper

	mu   sync.Mutex
	used []*credhelper.Helper
}

// Resolve answers for image, capping the suggested cacheDuration by the
// remaining lifetime of every helper credential used.
func (r *Run) Resolve(image string) provider.Answer {
	a := r.Store.Resolve(image)
	if len(a.Credentials) == 0 {
		return a
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.used {
		if rem := h.Remaining(); rem > 0 && rem < a.CacheDuration {
			a.CacheDuration = rem.Truncate(time.Second)
		}
	}
	return a
}

// Build makes what answers one request: the configured sources in order,
// each restricted to its matchImages, and replaced by a denial when the
// request's identity may not use it.
func (c *Config) Build(opts BuildOptions) *Run {
	run := &Run{Store: &provider.Store{CacheDuration: c.CacheDurationValue()}}
	var shared credhelper.Cacher
	if !c.Cache.Disabled {
		shared = c.newCache()
	}
	run.Helpers = credhelper.Shared(func(name string) *credhelper.Helper {
		h := c.helper(name, shared)
		run.mu.Lock()
		run.used = append(run.used, h)
		run.mu.Unlock()
		return h
	})
	audienceProblem := ""
	if aud := c.Scoping.Audience; aud != "" && opts.Identity.HasToken && !opts.Identity.HasAudience(aud) {
		audienceProblem = fmt.Sprintf("the service-account token was not minted for audience %q (scoping.audience); check the kubelet's tokenAttributes.serviceAccountTokenAudience", aud)
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		reason := c.denial(s, opts.Identity, audienceProblem)
		if opts.Unscoped {
			reason = ""
		}
		for _, src := range c.sources(s, opts, run.Helpers) {
			src = &provider.Named{Source: src, Label: s.Name}
			if len(s.MatchImages) > 0 {
				src = &provider.Restricted{Source: src, MatchImages: s.MatchImages}
			}
			if reason != "" {
				src = &provider.Denied{SourceName: src.Name(), Reason: reason, Inner: src}
			}
			run.Store.Sources = append(run.Store.Sources, src)
		}
	}
	return run
}

// helper configures one credential helper, with the shared cache if any.
func (c *Config) helper(name string, shared credhelper.Cacher) *credhelper.Helper {
	hs := c.HelperSettings(name)
	h := &credhelper.Helper{Name: name, Timeout: hs.Timeout, Env: hs.Env}
	if shared != nil {
		h.Caching = &credhelper.Caching{Cache: shared, TTL: hs.CacheTTL, Watch: hs.Watch}
	}
	return h
}

// denial says why id may not use s, or "" when it may.
func (c *Config) denial(s *Source, id scope.Identity, audienceProblem string) string {
	if audienceProblem != "" {
		return audienceProblem
	}
	if s.Allow != nil {
		p := scope.Policy{
			Namespaces:      s.Allow.Namespaces,
			ServiceAccounts: s.Allow.ServiceAccounts,
			Annotations:     s.Allow.Annotations,
			WithoutToken:    s.Allow.WithoutToken,
		}
		if ok, why := p.Permits(id); !ok {
			return fmt.Sprintf("%s: %s", id, why)
		}
		return ""
	}
	if !id.HasToken && c.Scoping.WithoutToken == TokenlessDeny {
		return "the request has no service-account token and scoping.withoutToken is Deny"
	}
	return ""
}

// sources makes the provider sources of one configured source.
func (c *Config) sources(s *Source, opts BuildOptions, helpers func(string) *credhelper.Helper) []provider.Source {
	switch {
	case s.DockerConfig != nil:
		out := dockerconfig.Sources(s.DockerConfig.Paths, opts.KubeletRootDir)
		for _, src := range out {
			src.(*dockerconfig.Source).Helpers = helpers
		}
		return out
	case s.CredentialHelper != nil:
		return []provider.Source{&credhelper.Source{Helper: helpers(s.CredentialHelper.Helper)}}
	case s.PodmanAuth != nil:
		var paths []string
		if s.PodmanAuth.Path != "" {
			paths = []string{s.PodmanAuth.Path}
		}
		out := podman.Sources(paths, os.Getenv)
		for _, src := range out {
			src.(*podman.Source).Helpers = helpers
		}
		return out
	case s.Static != nil:
		return []provider.Source{&static.Source{MatchImages: s.MatchImages, UsernameFile: s.Static.UsernameFile, PasswordFile: s.Static.PasswordFile}}
	}
	return nil
}

// newCache opens the node-local cache on first use: a request answered
// from a docker config file never touches it.
func (c *Config) newCache() credhelper.Cacher {
	return &lazyCache{opts: cache.Options{
		Dir:         c.Cache.Dir,
		NegativeTTL: c.Cache.NegativeTTLValue(),
		Warn:        func(err error) { klog.Warningf("node-local cache: %v; asking helpers directly", err) },
	}}
}

type lazyCache struct {
	opts cache.Options
	once sync.Once
	c    *cache.Cache
	err  error
}

func (l *lazyCache) Do(key, fingerprint string, fetch func() ([]byte, time.Duration, error)) ([]byte, time.Duration, error) {
	l.once.Do(func() {
		if l.c, l.err = cache.Open(l.opts); l.err != nil {
			klog.Warningf("node-local cache: %v; asking helpers directly", l.err)
		}
	})
	if l.err != nil {
		return fetch()
	}
	return l.c.Do(key, fingerprint, fetch)
}
