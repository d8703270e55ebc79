package podman

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Source serves one containers auth.json.
type Source struct {
	Path string
	// Optional sources are part of the default search list: a missing file
	// is silently skipped. A file the operator named must exist.
	Optional bool
	// Helpers configures the helpers named in credHelpers; nil means each
	// with defaults.
	Helpers credhelper.Factory
}

// Name implements provider.Source.
func (s *Source) Name() string { return s.Path }

// load reads the file; a missing optional file is (nil, nil).
func (s *Source) load() (*dockerconfig.File, error) {
	f, err := dockerconfig.Load(s.Path)
	if err != nil {
		if s.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, provider.FileError(s.Path, err)
	}
	return f, nil
}

// Lookup implements provider.Source. The file is read on every lookup.
func (s *Source) Lookup(ctx context.Context, image string) (provider.Result, error) {
	f, err := s.load()
	if f == nil {
		if err == nil {
			return provider.Result{Notes: []string{"no such file"}}, nil
		}
		return provider.Result{}, err
	}
	res, helperErr := Resolve(ctx, f, image, s.Helpers)
	var errs []error
	for _, p := range f.Problems {
		errs = append(errs, fmt.Errorf("%s: %w", s.Path, p))
	}
	if helperErr != nil {
		errs = append(errs, fmt.Errorf("%s: %w", s.Path, helperErr))
	}
	return res, errors.Join(errs...)
}

// Resolve answers for image from a parsed auth.json: the credHelpers entry
// for the registry, then the single most specific auths key.
func Resolve(ctx context.Context, f *dockerconfig.File, image string, helpers credhelper.Factory) (provider.Result, error) {
	var res provider.Result
	var helperErr error
	registry := match.Registry(image)
	if f.CredsStore != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("credsStore %q ignored: containers tools do not read it", f.CredsStore))
	}
	if name := f.CredHelpers[registry]; name != "" {
		cred, note, err := credhelper.Ask(ctx, helpers.Helper(name), registry, registry)
		switch {
		case err != nil:
			helperErr = fmt.Errorf("credHelpers %q: %w", registry, err)
		case cred != nil:
			res.Credentials = []provider.Credential{*cred}
			res.Notes = append(res.Notes, note)
			return res, nil
		default:
			res.Notes = append(res.Notes, note)
		}
	}
	r := lookupAuths(f, image)
	res.Credentials = r.Credentials
	res.PathScoped = r.PathScoped
	res.Notes = append(res.Notes, r.Notes...)
	return res, helperErr
}

// lookupAuths picks the auths entry containers/image would use for image.
func lookupAuths(f *dockerconfig.File, image string) provider.Result {
	var res provider.Result
	registry := match.Registry(image)
	for i := range f.Entries {
		if k := f.Entries[i].Key; !strings.Contains(k, "://") && strings.HasPrefix(k, registry+"/") {
			res.PathScoped = true
		}
	}
	best, exact := find(f, image)
	if best == nil {
		return res
	}
	if !best.Usable() {
		res.Notes = append(res.Notes, fmt.Sprintf("%q is the key podman uses for the image and has no username or password; podman would pull anonymously", best.Key))
		return res
	}
	answer := answerKey(best, exact, image)
	if !match.Matches(answer, image) {
		res.Notes = append(res.Notes, fmt.Sprintf("%q skipped: the kubelet would not match %q to the image", best.Key, answer))
		return res
	}
	res.Credentials = []provider.Credential{{Key: answer, Username: best.Username, Password: best.Password}}
	res.Notes = append(res.Notes, fmt.Sprintf("%q is the key podman uses for the image; answers as %q", best.Key, answer))
	return res
}

// Keys implements provider.Lister: the usable auths keys as they would
// answer, and the credHelpers registries.
func (s *Source) Keys() ([]string, error) {
	f, err := s.load()
	if f == nil {
		return nil, err
	}
	set := map[string]bool{}
	for i := range f.Entries {
		if f.Entries[i].Usable() {
			set[listKey(f.Entries[i].Key)] = true
		}
	}
	for reg, name := range f.CredHelpers {
		if name != "" {
			set[reg] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, p := range f.Problems {
		errs = append(errs, fmt.Errorf("%s: %w", s.Path, p))
	}
	return keys, errors.Join(errs...)
}

var (
	_ provider.Source = (*Source)(nil)
	_ provider.Lister = (*Source)(nil)
)
