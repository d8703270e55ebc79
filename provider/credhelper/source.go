package credhelper

import (
	"fmt"
	"sort"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Source is a helper named directly in our configuration for chosen images,
// independent of any docker config file.
type Source struct {
	Helper *Helper
	// MatchImages are patterns with the kubelet's matchImages syntax; the
	// helper is asked only about images one of them matches. Empty: every
	// image, as for every other source (the configuration restricts sources
	// with provider.Restricted and leaves this empty).
	MatchImages []string
}

// Name implements provider.Source.
func (s *Source) Name() string { return s.Helper.Command() }

// Lookup implements provider.Source; see Resolve for which keys are asked
// and answered.
func (s *Source) Lookup(image string) (provider.Result, error) {
	if len(s.MatchImages) == 0 {
		return Resolve(s.Helper, image)
	}
	matched := ""
	pathScoped := false
	for _, p := range s.MatchImages {
		if match.Matches(p, image) && matched == "" {
			matched = p
		}
		if match.HasPath(p) && match.SameHost(p, image) {
			// Another source may serve a different path on this registry:
			// the answer must not be cached for the whole registry.
			pathScoped = true
		}
	}
	if matched == "" {
		return provider.Result{Notes: []string{"no matchImages pattern matches"}}, nil
	}
	res, err := Resolve(s.Helper, image)
	res.PathScoped = res.PathScoped || pathScoped
	res.Notes = append([]string{fmt.Sprintf("matchImages %q matches", matched)}, res.Notes...)
	return res, err
}

// Keys implements provider.Lister: the keys the helper lists that a
// matchImages pattern covers, or that cover a pattern (a registry-wide key
// answers for the images of a path pattern).
func (s *Source) Keys() ([]string, error) {
	all, err := Keys(s.Helper)
	if err != nil || len(s.MatchImages) == 0 {
		return all, err
	}
	var keys []string
	for _, k := range all {
		for _, p := range s.MatchImages {
			if match.Matches(p, k) || match.Matches(k, p) {
				keys = append(keys, k)
				break
			}
		}
	}
	sort.Strings(keys)
	return keys, nil
}

var (
	_ provider.Source = (*Source)(nil)
	_ provider.Lister = (*Source)(nil)
)
