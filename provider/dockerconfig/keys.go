package dockerconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

var _ provider.Lister = (*Source)(nil)

// Keys implements provider.Lister: the normalized keys of the file's usable
// entries. Placeholders (credsStore) and token-only entries are left out,
// because Lookup never answers with them.
func (s *Source) Keys() ([]string, error) {
	f, err := Load(s.Path)
	if err != nil {
		if s.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", s.Path, describeOpenError(err))
	}
	var problems []error
	for _, p := range f.Problems {
		problems = append(problems, fmt.Errorf("%s: %w", s.Path, p))
	}
	return f.Keys(), errors.Join(problems...)
}

// Keys returns the normalized keys of the usable entries, sorted, without
// duplicates.
func (f *File) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, e := range f.Entries {
		if e.Usable() && !seen[e.MatchKey] {
			seen[e.MatchKey] = true
			keys = append(keys, e.MatchKey)
		}
	}
	sort.Strings(keys)
	return keys
}
