package dockerconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Source serves one docker config file.
type Source struct {
	Path string
	// Optional sources are part of a default search list: a missing file is
	// silently skipped. A file the operator named must exist.
	Optional bool
	// Helpers configures the helpers the file's credsStore and credHelpers
	// name (timeouts, environment); nil means each with defaults. Sources
	// should share one credhelper.NewFactory, so that a helper
	// that hangs is waited for once per run.
	Helpers credhelper.Factory
}

// Name implements provider.Source.
func (s *Source) Name() string { return s.Path }

// Lookup implements provider.Source. The file is read on every lookup, so an
// edited file takes effect on the next request.
func (s *Source) Lookup(ctx context.Context, image string) (provider.Result, error) {
	f, err := Load(s.Path)
	if err != nil {
		if s.Optional && errors.Is(err, fs.ErrNotExist) {
			return provider.Result{Notes: []string{"no such file"}}, nil
		}
		return provider.Result{}, provider.FileError(s.Path, err)
	}
	res, err := f.Resolve(ctx, image, s.Helpers)
	return res, s.errors(f, err)
}

// errors joins the file's broken entries and a helper's failure, each
// prefixed with the path.
func (s *Source) errors(f *File, helperErr error) error {
	var errs []error
	for _, p := range f.Problems {
		errs = append(errs, fmt.Errorf("%s: %w", s.Path, p))
	}
	if helperErr != nil {
		errs = append(errs, fmt.Errorf("%s: %w", s.Path, helperErr))
	}
	return errors.Join(errs...)
}

// Keys implements provider.Lister. A missing optional file has no keys.
func (s *Source) Keys() ([]string, error) {
	f, err := Load(s.Path)
	if err != nil {
		if s.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, provider.FileError(s.Path, err)
	}
	keys, err := f.Keys(s.Helpers)
	return keys, s.errors(f, err)
}

// Lookup applies the kubelet's keyring rules to the file's entries: every
// usable entry whose key matches the image; when none does and the image is
// on Docker Hub, the entries under index.docker.io.
func (f *File) Lookup(image string) provider.Result {
	var res provider.Result
	var fallback []*Entry
	resp := response{sent: map[provider.Credential]string{}, spellings: map[string]int{}}
	for i := range f.Entries {
		e := &f.Entries[i]
		if !e.Usable() {
			res.Notes = append(res.Notes, fmt.Sprintf("%q skipped: %s", e.Key, unusableReason(e, f)))
			continue
		}
		if match.HasPath(e.MatchKey) && match.SameHost(e.MatchKey, image) {
			res.PathScoped = true
		}
		if e.MatchKey == match.DefaultRegistryKey {
			fallback = append(fallback, e)
		}
		if !match.Matches(e.MatchKey, image) {
			if why := match.NearMiss(e.MatchKey, image); why != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("%q does not match: %s", e.Key, why))
			}
			continue
		}
		resp.add(&res, e, fmt.Sprintf("%q matches as %q", e.Key, e.MatchKey))
	}
	if len(res.Credentials) == 0 && match.IsDockerHub(image) {
		for _, e := range fallback {
			resp.add(&res, e, fmt.Sprintf("%q used as the Docker Hub fallback", e.Key))
		}
	}
	return res
}

// response gathers the credentials of one answer. Two spellings of one
// registry in a file ("https://quay.io/v1/" and "quay.io") are two
// credentials in the kubelet's keyring, which the runtime tries in turn: we
// send both, each key spelled so that the kubelet reads it back as the same
// key (match.WireKey). The same credential twice is sent once.
type response struct {
	sent      map[provider.Credential]string // credential -> the file's key that sent it
	spellings map[string]int                 // MatchKey -> credentials sent under it
}

func (r *response) add(res *provider.Result, e *Entry, note string) {
	cred := provider.Credential{Key: e.MatchKey, Username: e.Username, Password: e.Password}
	if first, dup := r.sent[cred]; dup {
		res.Notes = append(res.Notes, fmt.Sprintf("%q holds the same credential as %q for %q: sent once", e.Key, first, e.MatchKey))
		return
	}
	if _, err := match.WireKey(e.MatchKey, r.spellings[e.MatchKey]); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%q skipped: %v", e.Key, err))
		return
	}
	r.spellings[e.MatchKey]++
	r.sent[cred] = e.Key
	res.Credentials = append(res.Credentials, cred)
	res.Notes = append(res.Notes, note)
}

func unusableReason(e *Entry, f *File) string {
	switch {
	case e.HasIdentityToken:
		return "it holds only an identitytoken, which the kubelet's username/password answer cannot carry"
	case e.HasRegistryToken:
		return "it holds only a registrytoken, which the kubelet's username/password answer cannot carry"
	case f.CredsStore != "":
		return fmt.Sprintf("no username or password; docker keeps it in credsStore %q", f.CredsStore)
	default:
		return "no username or password"
	}
}

// DefaultPaths is the kubelet's own search list, in its order: config.json in
// the kubelet's root directory, $HOME/.docker and /.docker, then .dockercfg
// in the root directory, $HOME and /. The kubelet also looks in its working
// directory; we do not, because a person running this tool by hand would
// silently pick up whatever config.json lies where they stand.
func DefaultPaths(kubeletRootDir, home string) []string {
	var paths []string
	if kubeletRootDir != "" {
		paths = append(paths, filepath.Join(kubeletRootDir, "config.json"))
	}
	if home != "" {
		paths = append(paths, filepath.Join(home, ".docker", "config.json"))
	}
	paths = append(paths, "/.docker/config.json")
	if kubeletRootDir != "" {
		paths = append(paths, filepath.Join(kubeletRootDir, ".dockercfg"))
	}
	if home != "" {
		paths = append(paths, filepath.Join(home, ".dockercfg"))
	}
	paths = append(paths, "/.dockercfg")
	return dedupe(paths)
}

func dedupe(paths []string) []string {
	seen := map[string]bool{}
	out := paths[:0]
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// Sources returns a source per path; when paths is empty, the default search
// list with missing files skipped. The sources share helpers, so that a
// helper that hangs costs the run its timeout once.
func Sources(paths []string, kubeletRootDir string, helpers credhelper.Factory) []provider.Source {
	optional := false
	if len(paths) == 0 {
		home, _ := os.UserHomeDir()
		paths = DefaultPaths(kubeletRootDir, home)
		optional = true
	}
	out := make([]provider.Source, 0, len(paths))
	for _, p := range paths {
		out = append(out, &Source{Path: p, Optional: optional, Helpers: helpers})
	}
	return out
}
