package dockerconfig

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Resolve answers for image in docker's CLI order: the credHelpers entry
// for the image's registry first, then the credsStore, then the plain auths
// entries (Lookup). The first of these that holds a usable credential
// answers alone. A helper that has nothing, or fails, passes on to the
// next: that is our choice, not docker's. Docker asks only the one store
// that applies and takes its answer, even an empty one (its native store
// replaces the file's username and password with the helper's answer even
// when the helper has nothing, and GetAllCredentials lets a helper's empty
// answer win over the plain entry). We fall through to the plain entry, as
// the kubelet, which ignores helpers, would use it. Helper failures are
// returned as errors alongside whatever a later layer found.
func (f *File) Resolve(ctx context.Context, image string, helpers credhelper.Factory) (provider.Result, error) {
	var res provider.Result
	var errs []error
	add := func(r provider.Result, err error) bool {
		res.Notes = append(res.Notes, r.Notes...)
		res.PathScoped = res.PathScoped || r.PathScoped
		if err != nil {
			errs = append(errs, err)
		}
		if len(r.Credentials) > 0 {
			res.Credentials = r.Credentials
			return true
		}
		return false
	}
	if key, name, ok := f.credHelperFor(image); ok {
		r, err := credHelper(ctx, helpers.Helper(name), image)
		if err != nil {
			err = fmt.Errorf("credHelpers %q: %w", key, err)
		}
		if add(r, err) {
			return res, errors.Join(errs...)
		}
	}
	if f.CredsStore != "" {
		r, err := f.credsStore(ctx, helpers.Helper(f.CredsStore), image)
		if err != nil {
			err = fmt.Errorf("credsStore: %w", err)
		}
		if add(r, err) {
			return res, errors.Join(errs...)
		}
	}
	add(f.Lookup(image), nil)
	return res, errors.Join(errs...)
}

// credHelperFor finds the credHelpers entry for image's registry. Docker
// looks the registry's host[:port] up exactly (Docker Hub as
// https://index.docker.io/v1/); we compare normalized keys, so that
// "https://gcr.io" also names gcr.io, and accept docker.io for Docker Hub.
// A key with a path never applies: docker keys helpers by registry.
func (f *File) credHelperFor(image string) (key, name string, ok bool) {
	want, _ := credhelper.Key(credhelper.ServerURL(image))
	keys := make([]string, 0, len(f.CredHelpers))
	for k := range f.CredHelpers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if f.CredHelpers[k] == "" {
			continue // docker treats an empty name as no helper
		}
		if nk, err := credhelper.Key(k); err == nil && nk == want {
			if k == credhelper.ServerURL(image) {
				return k, f.CredHelpers[k], true // docker's own spelling wins
			}
			if !ok {
				key, name, ok = k, f.CredHelpers[k], true
			}
		}
	}
	return key, name, ok
}

// credHelper asks a per-registry helper for the registry, with the server
// URL docker would pass.
func credHelper(ctx context.Context, h *credhelper.Helper, image string) (provider.Result, error) {
	return getOne(ctx, h, credhelper.ServerURL(image), image)
}

// getOne asks h about one server URL, as a Result for image.
func getOne(ctx context.Context, h *credhelper.Helper, serverURL, image string) (provider.Result, error) {
	key, _ := credhelper.AnswerKey(serverURL, image)
	cred, note, err := credhelper.Ask(ctx, h, serverURL, key)
	if err != nil {
		return provider.Result{}, err
	}
	res := provider.Result{Notes: []string{note}}
	if cred != nil {
		res.Credentials = []provider.Credential{*cred}
	}
	return res, nil
}

// credsStore asks the default store. The empty auths entries docker writes
// next to a credsStore say under which server URL it stored each
// credential: when one matches the image we get exactly those, without
// listing the store; otherwise credhelper.Resolve lists and gets.
func (f *File) credsStore(ctx context.Context, h *credhelper.Helper, image string) (provider.Result, error) {
	var res provider.Result
	var errs []error
	hinted := false
	for i := range f.Entries {
		e := &f.Entries[i]
		if !isPlaceholder(e) {
			continue
		}
		key, ok := credhelper.AnswerKey(e.Key, image)
		if key != "" && match.HasPath(key) && match.SameHost(key, image) {
			res.PathScoped = true
		}
		if !ok {
			continue
		}
		hinted = true
		r, err := getOne(ctx, h, e.Key, image)
		res.Notes = append(res.Notes, r.Notes...)
		res.Credentials = append(res.Credentials, r.Credentials...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if hinted {
		return res, errors.Join(errs...)
	}
	r, err := credhelper.Resolve(ctx, h, image)
	r.PathScoped = r.PathScoped || res.PathScoped
	return r, err
}

// isPlaceholder tells the entries `docker login` leaves in auths when the
// secret went to the credsStore.
func isPlaceholder(e *Entry) bool {
	return !e.Usable() && !e.HasIdentityToken && !e.HasRegistryToken
}

// Keys returns the keys the file can answer under: its usable auths
// entries, its credHelpers registries, and what its credsStore lists (or,
// when the store cannot list, the placeholders that hint at it).
func (f *File) Keys(helpers credhelper.Factory) ([]string, error) {
	set := map[string]bool{}
	for _, e := range f.Entries {
		if e.Usable() {
			set[e.MatchKey] = true
		}
	}
	for k, name := range f.CredHelpers {
		if name == "" {
			continue
		}
		if nk, err := credhelper.Key(k); err == nil && !match.HasPath(nk) {
			set[nk] = true
		}
	}
	var err error
	if f.CredsStore != "" {
		var listed []string
		listed, err = credhelper.Keys(helpers.Helper(f.CredsStore))
		if err != nil {
			err = fmt.Errorf("credsStore: %w", err)
			for _, e := range f.Entries {
				if isPlaceholder(&e) {
					if nk, kerr := credhelper.Key(e.Key); kerr == nil {
						listed = append(listed, nk)
					}
				}
			}
		}
		for _, k := range listed {
			set[k] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, err
}
