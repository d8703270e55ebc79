package static

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// MaxFileSize bounds a username or password file. A credential is at most a
// few kilobytes (a JWT); a larger file is the wrong file.
const MaxFileSize = 64 << 10

// Source is one credential for the images MatchImages covers.
type Source struct {
	// MatchImages are patterns with the kubelet's matchImages syntax.
	MatchImages []string
	// UsernameFile may be empty for registries that accept any username
	// with a token as password; the username is then empty.
	UsernameFile string
	PasswordFile string
}

// Name implements provider.Source.
func (s *Source) Name() string { return "static " + s.PasswordFile }

// Lookup implements provider.Source.
func (s *Source) Lookup(image string) (provider.Result, error) {
	var res provider.Result
	matched, key := "", ""
	var errs []error
	for _, p := range s.MatchImages {
		// Match with the key we would answer under, so that the kubelet,
		// which applies the same rule to it, is sure to match it too.
		k, err := match.NormalizeKey(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: matchImages %q: %w", s.Name(), p, err))
			continue
		}
		if matched == "" && match.Matches(k, image) {
			matched, key = p, k
		}
		if match.HasPath(k) && match.SameHost(k, image) {
			// A path pattern scopes this credential: another image on the
			// registry must not reuse the answer from the kubelet's cache.
			res.PathScoped = true
		}
	}
	if matched == "" {
		res.Notes = append(res.Notes, "no matchImages pattern matches")
		return res, errors.Join(errs...)
	}
	var err error
	user := ""
	if s.UsernameFile != "" {
		if user, err = ReadSecretFile(s.UsernameFile); err != nil {
			return res, err
		}
	}
	pass, err := ReadSecretFile(s.PasswordFile)
	if err != nil {
		return res, err
	}
	if user == "" && pass == "" {
		res.Notes = append(res.Notes, "username and password are both empty")
		return res, nil
	}
	res.Credentials = []provider.Credential{{Key: key, Username: user, Password: pass}}
	res.Notes = append(res.Notes, fmt.Sprintf("matchImages %q matches; answers as %q", matched, key))
	return res, nil
}

// Keys implements provider.Lister: the normalized patterns.
func (s *Source) Keys() ([]string, error) {
	set := map[string]bool{}
	var errs []error
	for _, p := range s.MatchImages {
		k, err := match.NormalizeKey(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: matchImages %q: %w", s.Name(), p, err))
			continue
		}
		set[k] = true
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, errors.Join(errs...)
}

// ReadSecretFile reads a one-value file: a regular file of at most
// MaxFileSize bytes, with one trailing line ending (\n or \r\n) removed.
// Errors name the file and never quote it.
func ReadSecretFile(path string) (string, error) {
	data, err := provider.ReadFile(path, MaxFileSize)
	var tooLarge *provider.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return "", fmt.Errorf("%s: larger than %d KiB, not a credential", path, MaxFileSize>>10)
	case errors.Is(err, provider.ErrNotRegular):
		return "", fmt.Errorf("%s: not a regular file", path)
	case err != nil:
		return "", provider.FileError(path, err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

var (
	_ provider.Source = (*Source)(nil)
	_ provider.Lister = (*Source)(nil)
)
