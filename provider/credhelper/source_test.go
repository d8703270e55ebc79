package credhelper

import (
	"context"
	"reflect"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// A helper source answers for the images its patterns cover, and for every
// image without patterns: the configuration restricts it from outside, as
// every source, with provider.Restrict.
func TestSourceMatchImages(t *testing.T) {
	f := &fake{get: map[string]reply{"r.io": cred("u", secret), "q.io": cred("q", secret)}}
	for _, tc := range []struct {
		name     string
		patterns []string
		image    string
		want     int
		keys     []string
	}{
		{"no patterns", nil, "r.io/app", 1, []string{"q.io", "r.io"}},
		{"matching pattern", []string{"r.io"}, "r.io/app", 1, []string{"r.io"}},
		{"other pattern", []string{"q.io"}, "r.io/app", 0, []string{"q.io"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := provider.Restrict(&Source{Helper: &Helper{Name: "fake", Program: f.program}}, tc.patterns)
			res, err := s.Lookup(context.Background(), tc.image)
			if err != nil || len(res.Credentials) != tc.want {
				t.Errorf("Lookup = %+v, %v; want %d credentials", res, err, tc.want)
			}
			l, ok := s.(provider.Lister)
			if !ok {
				t.Fatal("a restricted helper source no longer lists")
			}
			if keys, err := l.Keys(); err != nil || !reflect.DeepEqual(keys, tc.keys) {
				t.Errorf("Keys = %v, %v; want %v", keys, err, tc.keys)
			}
		})
	}
}
