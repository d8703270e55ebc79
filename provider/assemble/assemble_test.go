//go:build unix

package assemble

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/config"
	"github.com/node-credential-provider/node-credential-provider/provider"
)

const head = "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\n"

// A credentialHelper source asks its helper, with or without matchImages
// (it once answered nothing at all: the helper source required patterns
// of its own, which the configuration never gave it).
func TestBuildCredentialHelperSource(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\ncase \"$1\" in\n  get) read s; printf '{\"ServerURL\":\"%s\",\"Username\":\"u\",\"Secret\":\"p\"}' \"$s\" ;;\n  list) echo '{}' ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct {
		name, sources, image string
		want                 int
	}{
		{"every image", "[{credentialHelper: {helper: fake}}]", "r.io/app", 1},
		{"matching pattern", "[{credentialHelper: {helper: fake}, matchImages: [r.io]}]", "r.io/app", 1},
		{"other pattern", "[{credentialHelper: {helper: fake}, matchImages: [q.io]}]", "r.io/app", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse([]byte(head + "cache: {disabled: true}\nsources: " + tc.sources + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			a := New(c, Facts{}).Resolve(context.Background(), tc.image)
			if len(a.Credentials) != tc.want || len(a.Errors()) > 0 {
				t.Errorf("answer %+v, errors %v; want %d credentials", a.Credentials, a.Errors(), tc.want)
			}
		})
	}
}

// Every kind config knows is registered here, and nothing else.
func TestEveryKindRegistered(t *testing.T) {
	names := config.KindNames()
	for _, n := range names {
		if _, ok := kinds[n]; !ok {
			t.Errorf("kind %q of config.Source has no entry in kinds", n)
		}
	}
	if len(kinds) != len(names) {
		t.Errorf("kinds has %d entries, config.Source %d kinds (%v)", len(kinds), len(names), names)
	}
}

// The decorators assemble wraps around every source keep the optional
// Lister interface exactly when the source has it: a static source lists,
// and a source that cannot list stays unable to.
func TestDecoratorsKeepListerAsIs(t *testing.T) {
	c, err := config.Parse([]byte(head + "cache: {disabled: true}\nsources: [{static: {usernameFile: /u, passwordFile: /p}, matchImages: [r.io], name: s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	run := New(c, Facts{})
	l, ok := run.Store.Sources[0].(provider.Lister)
	if !ok {
		t.Fatalf("%T hides the static source's Lister", run.Store.Sources[0])
	}
	if keys, err := l.Keys(); err != nil || len(keys) != 1 || keys[0] != "r.io" {
		t.Errorf("Keys = %v, %v", keys, err)
	}
	for _, src := range []provider.Source{
		provider.WithName(notLister{}, "n"),
		provider.Restrict(notLister{}, []string{"r.io"}),
		provider.Restrict(provider.WithName(notLister{}, "n"), []string{"r.io"}),
	} {
		if _, ok := src.(provider.Lister); ok {
			t.Errorf("%T lists for a source that cannot", src)
		}
	}
}

type notLister struct{}

func (notLister) Name() string { return "cannot list" }
func (notLister) Lookup(context.Context, string) (provider.Result, error) {
	return provider.Result{}, nil
}

// validate never looks up a helper name that is a path, and says why.
func TestCheckRefusesHelperPaths(t *testing.T) {
	dir := t.TempDir()
	docker := filepath.Join(dir, "config.json")
	if err := os.WriteFile(docker, []byte(`{"auths":{},"credHelpers":{"r.io":"../../../bin/sh"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte(head + "sources: [{dockerConfig: {paths: [" + docker + "]}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, f := range Check(c, dir) {
		if f.Problem {
			problems = append(problems, f.Text)
		}
	}
	if len(problems) != 1 || !strings.Contains(problems[0], `"../../../bin/sh" is not a helper name`) {
		t.Errorf("problems %q", problems)
	}
}
