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
// another on the calling goroutine (a store of files costs no goroutine),
// except that a source still running after HedgeAfter has the next started
// alongside it, and so on, so that a hanging source does not hold back the
// sources after it. When ctx's deadline comes, the first of the sources
// that did answer with a credential answers, and each source before it
// that was still running is a step with ErrCutShort. The answer never
// waits for a source after the one that answers, and those still running
// are cancelled before Resolve returns.
//
// Sources get ctx's deadline: what they run (a credential helper) is
// killed then, and the node-local cache's lock wait ends then, so a source
// that blocks only on what honours its context returns by the deadline.
func (s *Store) Resolve(ctx context.Context, image string) Answer {
	a := Answer{Image: image, CacheKeyType: CacheKeyImage}
	lookups, cancel := context.WithCancel(ctx)
	r := &resolution{ctx: ctx, lookups: lookups, sources: s.Sources, image: image, outs: make([]outcome, len(s.Sources))}
	defer func() {
		cancel()
		r.stop()
	}()
	pathScoped := false
	for i, src := range s.Sources {
		name := src.Name()
		res, err, state := r.ask(i)
		switch state {
		case answered:
			if err != nil && ctx.Err() != nil && !errors.Is(err, ErrCutShort) {
				// It gave up because the deadline came.
				err = fmt.Errorf("%s: %w: %w", name, ErrCutShort, err)
			}
			a.Steps = append(a.Steps, Step{Source: name, Result: res, Err: err})
			pathScoped = pathScoped || res.PathScoped
			if len(res.Credentials) > 0 {
				a.Source = name
				a.Credentials = append([]Credential(nil), res.Credentials...)
			}
		case running:
			a.Steps = append(a.Steps, Step{Source: name, Err: fmt.Errorf("%s: %w after %s", name, ErrCutShort, time.Since(r.outs[i].start).Round(time.Millisecond))})
		case notStarted:
			a.Steps = append(a.Steps, Step{Source: name, Result: Result{Notes: []string{"not consulted: the run's deadline had passed"}}})
		}
		if len(a.Credentials) > 0 {
			break
		}
	}
	if len(a.Credentials) == 0 {
		return a
	}
	// Stable: two credentials under one key keep their source's order.
	sort.SliceStable(a.Credentials, func(i, j int) bool { return a.Credentials[i].Key > a.Credentials[j].Key })
	if !pathScoped && !anyPathScoped(a.Credentials) {
		a.CacheKeyType = CacheKeyRegistry
	}
	if len(a.Errors()) == 0 {
		a.CacheDuration = s.CacheDuration
	}
	return a
}

// resolution is one Resolve: which sources have started, on which
// goroutine, and what they said.
type resolution struct {
	ctx     context.Context // the run's: its deadline ends the waiting
	lookups context.Context // the sources': cancelled when Resolve returns
	sources []Source
	image   string
	outs    []outcome

	mu      sync.Mutex
	started int  // sources [0, started) have started
	closed  bool // Resolve is done: nothing more starts
	wg      sync.WaitGroup
	// alongside counts the sources started on goroutines of their own.
	alongside int
}

type outcome struct {
	res   Result
	err   error
	done  chan struct{}
	start time.Time
}

type lookupState int

const (
	answered lookupState = iota
	running
	notStarted
)

// ask returns what source i said, asking it on this goroutine unless it
// has been started alongside an earlier one, and waiting for it at most
// until the run's deadline.
func (r *resolution) ask(i int) (Result, error, lookupState) {
	r.mu.Lock()
	inline := i == r.started && r.ctx.Err() == nil && !r.closed
	if inline {
		r.claim(i)
	}
	started := i < r.started
	r.mu.Unlock()
	if !started {
		return Result{}, nil, notStarted
	}
	o := &r.outs[i]
	if inline {
		// While it runs, a hedger starts the sources after it, one per
		// HedgeAfter or as soon as the last one finished. The last source
		// has none to start: no timer.
		var hedger *time.Timer
		stop := make(chan struct{})
		if i+1 < len(r.sources) {
			hedger = time.AfterFunc(HedgeAfter, func() { r.hedge(stop) })
		}
		o.res, o.err = r.sources[i].Lookup(r.lookups, r.image)
		close(o.done)
		if hedger != nil && !hedger.Stop() {
			close(stop)
		}
		return o.res, o.err, answered
	}
	r.hedge(o.done)
	select {
	case <-o.done:
		return o.res, o.err, answered
	default:
		return Result{}, nil, running
	}
}

// claim marks source i started; r.mu is held.
func (r *resolution) claim(i int) {
	r.started = i + 1
	r.outs[i].done, r.outs[i].start = make(chan struct{}), time.Now()
}

// hedge keeps starting the sources after the last one started, each on a goroutine of
// its own, until done closes or the run's deadline comes: the next one
// when the last one started has finished or has run for HedgeAfter.
func (r *resolution) hedge(done <-chan struct{}) {
	for r.ctx.Err() == nil {
		r.mu.Lock()
		if r.closed || r.started >= len(r.sources) {
			r.mu.Unlock()
			break // nothing more to start: wait for done alone
		}
		last := &r.outs[r.started-1]
		select {
		case <-last.done:
			r.startNext()
			r.mu.Unlock()
			continue
		default:
		}
		d := HedgeAfter - time.Since(last.start)
		if d <= 0 {
			r.startNext()
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-done:
			t.Stop()
			return
		case <-r.ctx.Done():
		case <-last.done:
		case <-t.C:
		}
		t.Stop()
	}
	select {
	case <-done:
	case <-r.ctx.Done():
	}
}

// startNext starts the next source on a goroutine; r.mu is held.
func (r *resolution) startNext() {
	j := r.started
	r.claim(j)
	o := &r.outs[j]
	r.wg.Add(1)
	r.alongside++
	go func() {
		defer r.wg.Done()
		defer close(o.done)
		o.res, o.err = r.sources[j].Lookup(r.lookups, r.image)
	}()
}

// stop waits, at most reapGrace, for the sources started alongside to
// return once cancelled: a cancelled helper is killed at once. No source
// is started after it.
func (r *resolution) stop() {
	r.mu.Lock()
	r.closed = true
	alongside := r.alongside
	r.mu.Unlock()
	if alongside == 0 {
		// Every source ran on the calling goroutine and has returned: a
		// store of files ends here, without a goroutine or a timer.
		return
	}
	stopped := make(chan struct{})
	go func() { r.wg.Wait(); close(stopped) }()
	t := time.NewTimer(reapGrace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
	}
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
