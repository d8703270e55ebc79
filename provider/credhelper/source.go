package credhelper

import (
	"context"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// Source is a helper named directly in our configuration, independent of
// any docker config file. It answers for every image the helper holds a
// credential for; the configuration's matchImages restrict it from outside
// (provider.Restrict), as they restrict every kind of source.
type Source struct {
	Helper *Helper
}

// Name implements provider.Source.
func (s *Source) Name() string { return s.Helper.Command() }

// Lookup implements provider.Source; see Resolve for which keys are asked
// and answered.
func (s *Source) Lookup(ctx context.Context, image string) (provider.Result, error) {
	return Resolve(ctx, s.Helper, image)
}

// Keys implements provider.Lister: the keys the helper lists.
func (s *Source) Keys() ([]string, error) { return Keys(s.Helper) }

var (
	_ provider.Source = (*Source)(nil)
	_ provider.Lister = (*Source)(nil)
)
