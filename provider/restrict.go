package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// The decorators below wrap a source. Each is made by a constructor that
// keeps the optional Lister interface exactly when the wrapped source has
// it: a decorator that always listed would hide a source that cannot list
// (export-secret --all says so), and one that never listed would hide
// every key.

// Restrict consults src only for images that match one of matchImages, by
// the kubelet's matchImages rules. This is the one place where a source is
// limited to patterns; sources themselves answer for every image they hold
// a key for. Without patterns src is returned as it is.
func Restrict(src Source, matchImages []string) Source {
	if len(matchImages) == 0 {
		return src
	}
	r := &Restricted{Source: src, MatchImages: matchImages}
	if l, ok := src.(Lister); ok {
		return &restrictedLister{Restricted: r, inner: l}
	}
	return r
}

// Restricted is a source consulted only for images that match one of
// MatchImages. Make it with Restrict.
type Restricted struct {
	Source
	MatchImages []string
}

// Lookup implements Source.
func (r *Restricted) Lookup(ctx context.Context, image string) (Result, error) {
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
			res, err := r.Source.Lookup(ctx, image)
			res.PathScoped = res.PathScoped || scoped
			return res, err
		}
	}
	return Result{PathScoped: scoped, Notes: []string{fmt.Sprintf("not consulted: the image matches none of matchImages [%s]", strings.Join(r.MatchImages, ", "))}}, nil
}

type restrictedLister struct {
	*Restricted
	inner Lister
}

// Keys implements Lister: the inner source's keys whose every image the
// restriction lets through (a key matched by one of MatchImages). A
// registry-wide key under a path pattern is left out: written into a Secret,
// it would hand the credential to repositories the restriction excludes.
func (r *restrictedLister) Keys() ([]string, error) {
	keys, err := r.inner.Keys()
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

// Denied stands for a source this request may not use. When Inner is set it
// is consulted, so that a pod kept from a credential that exists learns why
// (the credential itself never leaves Lookup); without it the denial is
// only noted. It never lists: a denied request exports nothing.
type Denied struct {
	SourceName string
	Reason     string
	Inner      Source
}

// Name implements Source.
func (d *Denied) Name() string { return d.SourceName }

// Lookup implements Source: never a credential.
func (d *Denied) Lookup(ctx context.Context, image string) (Result, error) {
	res := Result{Notes: []string{deniedPrefix + d.Reason}}
	if d.Inner == nil {
		return res, nil
	}
	// The inner source's errors are not this request's concern: it may not
	// use the source anyway.
	inner, _ := d.Inner.Lookup(ctx, image)
	res.PathScoped = inner.PathScoped
	if len(inner.Credentials) > 0 {
		res.Withheld = d.Reason
	}
	return res, nil
}

// WithName labels src with the name an operator gave it in the config.
func WithName(src Source, label string) Source {
	n := &Named{Source: src, Label: label}
	if l, ok := src.(Lister); ok {
		return &namedLister{Named: n, inner: l}
	}
	return n
}

// Named labels a source with the name an operator gave it in the config.
// Make it with WithName.
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

type namedLister struct {
	*Named
	inner Lister
}

// Keys implements Lister.
func (n *namedLister) Keys() ([]string, error) { return n.inner.Keys() }
