package provider

import (
	"sort"
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
	// Errors never contain secrets.
	Lookup(image string) (Result, error)
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

// Resolve asks the sources in order for image, a normalized image.
func (s *Store) Resolve(image string) Answer {
	a := Answer{Image: image, CacheKeyType: CacheKeyImage}
	pathScoped := false
	for _, src := range s.Sources {
		res, err := src.Lookup(image)
		a.Steps = append(a.Steps, Step{Source: src.Name(), Result: res, Err: err})
		pathScoped = pathScoped || res.PathScoped
		if len(res.Credentials) > 0 {
			a.Source = src.Name()
			a.Credentials = append([]Credential(nil), res.Credentials...)
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
