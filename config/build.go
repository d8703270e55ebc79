package config

import (
	"fmt"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/scope"
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

// Build makes the store that answers one request: the configured sources in
// order, each restricted to its matchImages, and replaced by a denial when
// the request's identity may not use it.
func (c *Config) Build(opts BuildOptions) (*provider.Store, error) {
	store := &provider.Store{CacheDuration: c.CacheDurationValue()}
	audienceProblem := ""
	if aud := c.Scoping.Audience; aud != "" && opts.Identity.HasToken && !opts.Identity.HasAudience(aud) {
		audienceProblem = fmt.Sprintf("the service-account token was not minted for audience %q (scoping.audience); check the kubelet's tokenAttributes.serviceAccountTokenAudience", aud)
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if reason := c.denial(s, opts.Identity, audienceProblem); reason != "" && !opts.Unscoped {
			store.Sources = append(store.Sources, &provider.Denied{SourceName: s.Name, Reason: reason})
			continue
		}
		srcs, err := c.sources(s, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		for _, src := range srcs {
			src = &provider.Named{Source: src, Label: s.Name}
			if len(s.MatchImages) > 0 {
				src = &provider.Restricted{Source: src, MatchImages: s.MatchImages}
			}
			store.Sources = append(store.Sources, src)
		}
	}
	return store, nil
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
func (c *Config) sources(s *Source, opts BuildOptions) ([]provider.Source, error) {
	switch {
	case s.DockerConfig != nil:
		return dockerconfig.Sources(s.DockerConfig.Paths, opts.KubeletRootDir), nil
	}
	return nil, fmt.Errorf("no source kind set")
}
