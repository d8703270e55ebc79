package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Credential is a username and password under the key the kubelet will match
// against the image.
type Credential struct {
	// Key is normalized as the kubelet normalizes keys: host[:port] with an
	// optional repository path, no scheme.
	Key      string
	Username string
	Password string
}

// Result is what one source knows about one image.
type Result struct {
	// Credentials are every entry of the source that applies to the image.
	Credentials []Credential
	// PathScoped is set when the source holds a credential scoped to a
	// repository path on the image's registry, whether or not it matched this
	// image: then an answer must not be cached for the whole registry.
	PathScoped bool
	// Notes explain the decision for people (explain, -v). Never secret.
	Notes []string
	// Withheld says why a credential the source holds for the image was not
	// given to this request (service-account scoping); "" when nothing was
	// withheld.
	Withheld string
}

// Source is one place that may hold credentials.
type Source interface {
	// Name identifies the source to an operator, such as the path of a file.
	// It is never secret.
	Name() string
	// Lookup returns the credentials that apply to image, a normalized image
	// as the kubelet sends it. An error means the source could not be read
	// completely; any credentials returned alongside it are still valid.
	// Errors never contain secrets. ctx is cancelled when the answer no
	// longer needs this source (an earlier source answered, or the run's
	// deadline passed; Store.Resolve): whatever the source runs (a
	// credential helper) must stop then. Lookup may run concurrently with
	// other sources' lookups.
	Lookup(ctx context.Context, image string) (Result, error)
}

// Cache key types of the kubelet's CredentialProviderResponse.
const (
	CacheKeyImage    = "Image"
	CacheKeyRegistry = "Registry"
)

// Step records what one source said, for explain and for logs.
type Step struct {
	Source string
	Result Result
	Err    error
}

// Answer is the resolved credentials for one image and the cache hints for
// the kubelet.
type Answer struct {
	Image string
	// Credentials sorted by key, most specific first, as the kubelet orders them.
	Credentials []Credential
	// Source is the name of the source that answered, "" when none did.
	Source        string
	CacheKeyType  string
	CacheDuration time.Duration
	// Steps lists every source consulted, in order.
	Steps []Step
}

// Withheld lists, per source, why a credential it holds for the image was
// kept from this request.
func (a *Answer) Withheld() []string {
	var out []string
	for _, s := range a.Steps {
		if s.Result.Withheld != "" {
			out = append(out, s.Source+": "+s.Result.Withheld)
		}
	}
	return out
}

// Errors returns the errors of the sources consulted.
func (a *Answer) Errors() []error {
	var errs []error
	for _, s := range a.Steps {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errs
}

// Store is an ordered list of sources.
type Store struct {
	Sources []Source
	// CacheDuration is what we suggest to the kubelet for an answer with
	// credentials. Misses and answers given while a source failed are never
	// cached by the kubelet, so a fix is picked up by the next pull.
	CacheDuration time.Duration
}

// HedgeAfter is how long a source may take before the next source is
// started alongside it. Files answer in well under a millisecond and a
// healthy helper in tens of milliseconds, so a store of them runs one
// source after another and asks no helper it does not need; a source
// that hangs delays the ones after it by this much, not by its timeout.
const HedgeAfter = 200 * time.Millisecond

// ErrCutShort is the error of a source still running at the run's
// deadline: its answer, if it ever comes, is not waited for.
var ErrCutShort = errors.New("cut short at the run's deadline")

// reapGrace bounds how long Resolve waits, once it has its answer, for
// the lookups it no longer needs to stop: a cancelled helper is killed at
// once, and its pipes are closed within its wait delay.
const reapGrace = 2 * time.Second

// Resolve asks the sources in order for image, a normalized image: the
// first source with a credential answers. Sources are asked one after
// another, except that a source still running after HedgeAfter has the
// next started alongside it, so that a hanging source does not hold back
// the sources after it: when ctx's deadline comes, the first of the
// sources that did answer with a credential answers, and each source
// before it that was still running is a step with ErrCutShort. The answer
// never waits for a source after the one that answers, and those still
// running are cancelled before Resolve returns.
func (s *Store) Resolve(ctx context.Context, image string) Answer {
	a := Answer{Image: image, CacheKeyType: CacheKeyImage}
	n := len(s.Sources)
	// The lookups end when Resolve does, not at the deadline itself: the
	// deadline is Resolve's to observe, so that what a source still running
	// then does on its way out is never taken for its answer.
	lookups, cancel := context.WithCancel(context.WithoutCancel(ctx))
	type outcome struct {
		res   Result
		err   error
		done  chan struct{}
		start time.Time
	}
	outs := make([]outcome, n)
	started := 0
	var wg sync.WaitGroup
	start := func() {
		i := started
		started++
		outs[i].done, outs[i].start = make(chan struct{}), time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(outs[i].done)
			outs[i].res, outs[i].err = s.Sources[i].Lookup(lookups, image)
		}()
	}
	finished := func(i int) bool {
		select {
		case <-outs[i].done:
			return true
		default:
			return false
		}
	}
	defer func() {
		cancel()
		stopped := make(chan struct{})
		go func() { wg.Wait(); close(stopped) }()
		t := time.NewTimer(reapGrace)
		defer t.Stop()
		select {
		case <-stopped:
		case <-t.C:
		}
	}()

	expired := ctx.Err() != nil
	// wait waits for source i, starting later sources as it goes: the next
	// one when the last one started has finished or has run HedgeAfter.
	wait := func(i int) {
		for !expired && !finished(i) {
			last := started - 1
			var hedge <-chan time.Time
			if started < n {
				if finished(last) {
					start()
					continue
				}
				d := HedgeAfter - time.Since(outs[last].start)
				if d <= 0 {
					start()
					continue
				}
				t := time.NewTimer(d)
				hedge = t.C
				defer t.Stop()
			}
			select {
			case <-outs[i].done:
			case <-outs[last].done:
			case <-hedge:
			case <-ctx.Done():
				expired = true
			}
		}
	}
	pathScoped := false
	for i := 0; i < n; i++ {
		if !expired && i == started {
			start()
		}
		wait(i)
		name := s.Sources[i].Name()
		switch {
		case i < started && finished(i):
			res, err := outs[i].res, outs[i].err
			a.Steps = append(a.Steps, Step{Source: name, Result: res, Err: err})
			pathScoped = pathScoped || res.PathScoped
			if len(res.Credentials) > 0 {
				a.Source = name
				a.Credentials = append([]Credential(nil), res.Credentials...)
			}
		case i < started:
			a.Steps = append(a.Steps, Step{Source: name, Err: fmt.Errorf("%s: %w after %s", name, ErrCutShort, time.Since(outs[i].start).Round(time.Millisecond))})
		default:
			a.Steps = append(a.Steps, Step{Source: name, Result: Result{Notes: []string{"not consulted: the run's deadline had passed"}}})
		}
		if len(a.Credentials) > 0 {
			break
		}
	}
	if len(a.Credentials) == 0 {
		return a
	}
	sort.Slice(a.Credentials, func(i, j int) bool { return a.Credentials[i].Key > a.Credentials[j].Key })
	if !pathScoped && !anyPathScoped(a.Credentials) {
		a.CacheKeyType = CacheKeyRegistry
	}
	if len(a.Errors()) == 0 {
		a.CacheDuration = s.CacheDuration
	}
	return a
}

func anyPathScoped(creds []Credential) bool {
	for _, c := range creds {
		if match.HasPath(c.Key) {
			return true
		}
	}
	return false
}

// Lister is implemented by sources that can say which keys they hold
// credentials for, without being asked about an image (export-secret --all).
type Lister interface {
	// Keys returns the normalized keys the source would answer under, sorted
	// and without duplicates. Like Lookup, it may return keys together with
	// an error for the part it could not read. Never secret.
	Keys() ([]string, error)
}
