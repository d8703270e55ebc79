package static

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// MaxFileSize bounds a username or password file. A credential is at most a
// few kilobytes (a JWT); a larger file is the wrong file.
const MaxFileSize = 64 << 10

// Source is one credential under the keys it answers for.
type Source struct {
	// AnswerKeys are keys as the kubelet's keyring stores them
	// (match.PatternKey of the configuration's matchImages); the credential
	// answers under the first that matches the image, and the response
	// spells it so that the kubelet reads back that key (match.WireKey).
	AnswerKeys []string
	// UsernameFile may be empty for registries that accept any username
	// with a token as password; the username is then empty.
	UsernameFile string
	PasswordFile string
}

// New makes a Source answering under the matchImages patterns.
func New(matchImages []string, usernameFile, passwordFile string) (*Source, error) {
	s := &Source{UsernameFile: usernameFile, PasswordFile: passwordFile}
	var errs []error
	for _, p := range matchImages {
		// Patterns are literal, as the kubelet's matchImages: quay.io/v2/team
		// covers quay.io/v2/team/app (match.PatternKey).
		k, err := match.PatternKey(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: matchImages %q: %w", s.Name(), p, err))
			continue
		}
		s.AnswerKeys = append(s.AnswerKeys, k)
	}
	return s, errors.Join(errs...)
}

// Name implements provider.Source.
func (s *Source) Name() string { return "static " + s.PasswordFile }

// Lookup implements provider.Source.
func (s *Source) Lookup(_ context.Context, image string) (provider.Result, error) {
	var res provider.Result
	key := ""
	for _, k := range s.AnswerKeys {
		if key == "" && match.Matches(k, image) {
			key = k
		}
		if match.HasPath(k) && match.SameHost(k, image) {
			// A key with a path scopes this credential: another image on
			// the registry must not reuse the answer from the kubelet's cache.
			res.PathScoped = true
		}
	}
	if key == "" {
		res.Notes = append(res.Notes, "no key matches")
		return res, nil
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
	res.Notes = append(res.Notes, fmt.Sprintf("answers as %q", key))
	return res, nil
}

// Keys implements provider.Lister.
func (s *Source) Keys() ([]string, error) {
	keys := append([]string(nil), s.AnswerKeys...)
	sort.Strings(keys)
	return slices.Compact(keys), nil
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
