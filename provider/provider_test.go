package provider

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

type fakeSource struct {
	name  string
	res   Result
	err   error
	calls int
}

func (f *fakeSource) Name() string { return f.name }
func (f *fakeSource) Lookup(context.Context, string) (Result, error) {
	f.calls++
	return f.res, f.err
}

func creds(keys ...string) []Credential {
	var out []Credential
	for _, k := range keys {
		out = append(out, Credential{Key: k, Username: "u-" + k, Password: "p"})
	}
	return out
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sources   []*fakeSource
		wantFrom  string
		wantKeys  []string
		wantType  string
		wantDur   time.Duration
		wantCalls []int
	}{
		{
			name:      "first source with a match answers, later ones are not read",
			sources:   []*fakeSource{{name: "a"}, {name: "b", res: Result{Credentials: creds("r.io")}}, {name: "c", res: Result{Credentials: creds("r.io")}}},
			wantFrom:  "b",
			wantKeys:  []string{"r.io"},
			wantType:  CacheKeyRegistry,
			wantDur:   time.Minute,
			wantCalls: []int{1, 1, 0},
		},
		{
			name:      "keys most specific first, and a path-scoped key means Image",
			sources:   []*fakeSource{{name: "a", res: Result{Credentials: creds("*.r.io", "x.r.io", "x.r.io/team")}}},
			wantFrom:  "a",
			wantKeys:  []string{"x.r.io/team", "x.r.io", "*.r.io"},
			wantType:  CacheKeyImage,
			wantDur:   time.Minute,
			wantCalls: []int{1},
		},
		{
			name:      "an earlier source scoped to a path on the registry means Image",
			sources:   []*fakeSource{{name: "a", res: Result{PathScoped: true}}, {name: "b", res: Result{Credentials: creds("r.io")}}},
			wantFrom:  "b",
			wantKeys:  []string{"r.io"},
			wantType:  CacheKeyImage,
			wantDur:   time.Minute,
			wantCalls: []int{1, 1},
		},
		{
			name:      "a failed source: answer, but not for the kubelet to cache",
			sources:   []*fakeSource{{name: "a", err: errors.New("a: broken")}, {name: "b", res: Result{Credentials: creds("r.io")}}},
			wantFrom:  "b",
			wantKeys:  []string{"r.io"},
			wantType:  CacheKeyRegistry,
			wantDur:   0,
			wantCalls: []int{1, 1},
		},
		{
			name:      "no credentials: Image, 0s",
			sources:   []*fakeSource{{name: "a"}, {name: "b"}},
			wantType:  CacheKeyImage,
			wantCalls: []int{1, 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{CacheDuration: time.Minute}
			for _, f := range tc.sources {
				s.Sources = append(s.Sources, f)
			}
			a := s.Resolve(context.Background(), "r.io/app")
			var keys []string
			for _, c := range a.Credentials {
				keys = append(keys, c.Key)
			}
			if a.Source != tc.wantFrom || !reflect.DeepEqual(keys, tc.wantKeys) || a.CacheKeyType != tc.wantType || a.CacheDuration != tc.wantDur {
				t.Errorf("got from %q keys %v type %s dur %v", a.Source, keys, a.CacheKeyType, a.CacheDuration)
			}
			for i, f := range tc.sources {
				if f.calls != tc.wantCalls[i] {
					t.Errorf("source %s called %d times, want %d", f.name, f.calls, tc.wantCalls[i])
				}
			}
		})
	}
}

func TestDescribeJSONErrorNeverQuotesInput(t *testing.T) {
	for _, in := range []string{`{"a":"secret"x}`, `{"a":secret}`, `[1,2`, `{"a":1}`} {
		var v struct {
			A string `json:"a"`
		}
		err := json.Unmarshal([]byte(in), &v)
		if err == nil {
			t.Fatalf("%s decoded", in)
		}
		msg := DescribeJSONError(err).Error()
		for _, frag := range []string{"secret", "'x'", "'s'"} {
			if strings.Contains(msg, frag) {
				t.Errorf("DescribeJSONError(%s) = %q quotes the input", in, msg)
			}
		}
	}
}

func TestRestricted(t *testing.T) {
	inner := &fakeSource{name: "inner", res: Result{Credentials: creds("quay.io")}}
	r := &Restricted{Source: inner, MatchImages: []string{"quay.io/team-a", "*.example.com"}}
	if r.Name() != "inner" {
		t.Errorf("name %q", r.Name())
	}
	res, _ := r.Lookup(context.Background(), "quay.io/team-a/app")
	if len(res.Credentials) != 1 || !res.PathScoped {
		t.Errorf("team-a: %+v", res)
	}
	// Not consulted, but the answer on quay.io still depends on the path.
	res, _ = r.Lookup(context.Background(), "quay.io/team-b/app")
	if len(res.Credentials) != 0 || !res.PathScoped || inner.calls != 1 {
		t.Errorf("team-b: %+v, calls %d", res, inner.calls)
	}
	res, _ = r.Lookup(context.Background(), "r.example.com/app")
	if len(res.Credentials) != 1 || res.PathScoped {
		t.Errorf("example.com: %+v", res)
	}
	// A whole store: the answer for team-a must be cached per image.
	s := &Store{Sources: []Source{r}, CacheDuration: time.Minute}
	if a := s.Resolve(context.Background(), "quay.io/team-a/app"); a.CacheKeyType != CacheKeyImage {
		t.Errorf("cacheKeyType %s", a.CacheKeyType)
	}
	d := &Denied{SourceName: "team-b", Reason: "namespace x"}
	res, err := d.Lookup(context.Background(), "quay.io/a")
	if err != nil || len(res.Credentials) != 0 || res.Notes[0] != "not allowed: namespace x" || d.Name() != "team-b" {
		t.Errorf("denied: %+v", res)
	}
}

// A denied source is consulted so the request learns that a credential
// exists for it, but the credential never leaves Lookup.
func TestDeniedWithInner(t *testing.T) {
	inner := &fakeSource{name: "inner", res: Result{Credentials: creds("r.io"), PathScoped: true}}
	d := &Denied{SourceName: "team-a", Reason: "namespace x", Inner: inner}
	res, err := d.Lookup(context.Background(), "r.io/app")
	if err != nil || len(res.Credentials) != 0 || res.Withheld != "namespace x" || !res.PathScoped {
		t.Errorf("%+v %v", res, err)
	}
	s := &Store{Sources: []Source{d, &fakeSource{name: "empty"}}}
	a := s.Resolve(context.Background(), "r.io/app")
	if len(a.Credentials) != 0 || len(a.Withheld()) != 1 || a.Withheld()[0] != "team-a: namespace x" {
		t.Errorf("answer %+v withheld %v", a, a.Withheld())
	}
	// Nothing for the image: nothing withheld.
	d.Inner = &fakeSource{name: "inner"}
	if res, _ := d.Lookup(context.Background(), "r.io/app"); res.Withheld != "" {
		t.Errorf("withheld %q", res.Withheld)
	}
}
