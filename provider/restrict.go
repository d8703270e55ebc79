package provider

import (
	"fmt"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Restricted is a source consulted only for images that match one of
// MatchImages, by the kubelet's matchImages rules.
type Restricted struct {
	Source
	MatchImages []string
}

// Lookup implements Source.
func (r *Restricted) Lookup(image string) (Result, error) {
	// A pattern with a path on this registry means answers on this registry
	// differ by repository, whether or not this image matched: the kubelet
	// must not cache one for the whole registry.
	scoped := false
	for _, p := range r.MatchImages {
		if match.HasPath(p) && match.SameHost(p, image) {
			scoped = true
		}
	}
	for _, p := range r.MatchImages {
		if match.Matches(p, image) {
			res, err := r.Source.Lookup(image)
			res.PathScoped = res.PathScoped || scoped
			return res, err
		}
	}
	return Result{PathScoped: scoped, Notes: []string{fmt.Sprintf("not consulted: the image matches none of matchImages [%s]", strings.Join(r.MatchImages, ", "))}}, nil
}

// Denied stands for a source this request may not use. When Inner is set it
// is consulted, so that a pod kept from a credential that exists learns why
// (the credential itself never leaves Lookup); without it the denial is
// only noted.
type Denied struct {
	SourceName string
	Reason     string
	Inner      Source
}

// Name implements Source.
func (d *Denied) Name() string { return d.SourceName }

// Lookup implements Source: never a credential.
func (d *Denied) Lookup(image string) (Result, error) {
	res := Result{Notes: []string{"not allowed: " + d.Reason}}
	if d.Inner == nil {
		return res, nil
	}
	// The inner source's errors are not this request's concern: it may not
	// use the source anyway.
	inner, _ := d.Inner.Lookup(image)
	res.PathScoped = inner.PathScoped
	if len(inner.Credentials) > 0 {
		res.Withheld = d.Reason
	}
	return res, nil
}

// Named labels a source with the name an operator gave it in the config.
type Named struct {
	Source
	Label string
}

// Name implements Source: "label (inner name)", or the label alone when the
// inner name adds nothing.
func (n *Named) Name() string {
	inner := n.Source.Name()
	if inner == "" || inner == n.Label {
		return n.Label
	}
	return n.Label + " (" + inner + ")"
}

// Keys implements Lister when the wrapped source does: the keys whose every
// image the restriction lets through (a key matched by one of MatchImages).
func (r *Restricted) Keys() ([]string, error) {
	l, ok := r.Source.(Lister)
	if !ok {
		return nil, nil
	}
	keys, err := l.Keys()
	var out []string
	for _, k := range keys {
		for _, p := range r.MatchImages {
			if match.Matches(p, k) {
				out = append(out, k)
				break
			}
		}
	}
	return out, err
}

// Keys implements Lister when the wrapped source does.
func (n *Named) Keys() ([]string, error) {
	if l, ok := n.Source.(Lister); ok {
		return l.Keys()
	}
	return nil, nil
}
