package assemble

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/node-credential-provider/node-credential-provider/cache"
	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/internal/vlog"
	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/scope"
)

// Facts are what one run knows that the configuration does not.
type Facts struct {
	// KubeletRootDir starts the default docker config search list.
	KubeletRootDir string
	// Identity is who is pulling; the zero value is a request without a
	// service-account token.
	Identity scope.Identity
	// Unscoped ignores the allow rules and scoping: for an operator's
	// commands such as export-secret, not for the kubelet's requests.
	Unscoped bool
}

// Run is one request's store and the helpers its sources share.
type Run struct {
	Store *provider.Store

	mu   sync.Mutex
	used []*credhelper.Helper
}

// Resolve answers for image within ctx's deadline (provider.Store.Resolve),
// capping the suggested cacheDuration by the remaining lifetime of every
// helper credential used.
func (r *Run) Resolve(ctx context.Context, image string) provider.Answer {
	a := r.Store.Resolve(ctx, image)
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

// New makes what answers one request: the configured sources in order,
// each restricted to its matchImages, and replaced by a denial when the
// request's identity may not use it. cfg must be valid (config.Load and
// Validate).
func New(cfg *config.Config, facts Facts) *Run {
	run := &Run{Store: &provider.Store{CacheDuration: cfg.CacheDurationValue()}}
	var shared credhelper.Cacher
	if !cfg.Cache.Disabled {
		shared = newCache(cfg.Cache)
	}
	b := &builder{
		facts: facts,
		helpers: credhelper.NewFactory(func(name string) *credhelper.Helper {
			h := newHelper(cfg, name, shared)
			run.mu.Lock()
			run.used = append(run.used, h)
			run.mu.Unlock()
			return h
		}),
	}
	audienceProblem := ""
	if aud := cfg.Scoping.Audience; aud != "" && facts.Identity.HasToken && !facts.Identity.HasAudience(aud) {
		audienceProblem = fmt.Sprintf("the service-account token was not minted for audience %q (scoping.audience); check the kubelet's tokenAttributes.serviceAccountTokenAudience", aud)
	}
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		reason := ""
		if !facts.Unscoped {
			reason = denial(cfg, s, facts.Identity, audienceProblem)
		}
		k, ok := kindOf(s)
		if !ok {
			continue // Validate reports it
		}
		for _, src := range k.build(s, b) {
			src = provider.Restrict(provider.WithName(src, s.Name), s.MatchImages)
			if reason != "" {
				src = &provider.Denied{SourceName: src.Name(), Reason: reason, Inner: src}
			}
			run.Store.Sources = append(run.Store.Sources, src)
		}
	}
	return run
}

// builder is what a kind's constructor may use.
type builder struct {
	facts Facts
	// helpers hands out one Helper per name for the whole run, configured
	// from the config's helpers, so that a hanging helper costs its timeout
	// once however many sources name it.
	helpers credhelper.Factory
}

// newHelper configures one credential helper, with the shared cache if any.
func newHelper(cfg *config.Config, name string, shared credhelper.Cacher) *credhelper.Helper {
	hs := cfg.HelperSettings(name)
	h := &credhelper.Helper{Name: name, Timeout: hs.Timeout, Env: hs.Env}
	if shared != nil {
		h.Caching = &credhelper.Caching{Cache: shared, TTL: hs.CacheTTL, Watch: hs.Watch}
	}
	return h
}

// denial says why id may not use s, or "" when it may.
func denial(cfg *config.Config, s *config.Source, id scope.Identity, audienceProblem string) string {
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
	if !id.HasToken && cfg.Scoping.WithoutToken == config.TokenlessDeny {
		return "the request has no service-account token and scoping.withoutToken is Deny"
	}
	return ""
}

// newCache opens the node-local cache on first use: a request answered
// from a docker config file never touches it.
func newCache(c *config.Cache) credhelper.Cacher {
	return &lazyCache{opts: cache.Options{
		Dir:         c.Dir,
		NegativeTTL: c.NegativeTTLValue(),
		Warn:        func(err error) { vlog.Warningf("node-local cache: %v; asking helpers directly", err) },
	}}
}

type lazyCache struct {
	opts cache.Options
	once sync.Once
	c    *cache.Cache
	err  error
}

func (l *lazyCache) Do(ctx context.Context, key, fingerprint string, fetch func() ([]byte, time.Duration, error)) ([]byte, time.Duration, error) {
	l.once.Do(func() {
		if l.c, l.err = cache.Open(l.opts); l.err != nil {
			vlog.Warningf("node-local cache: %v; asking helpers directly", l.err)
		}
	})
	if l.err != nil {
		return fetch()
	}
	return l.c.Do(ctx, key, fingerprint, fetch)
}
