//go:build unix

package config

import (
	"os"
	"path/filepath"
	"testing"
)

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
			c, err := Parse([]byte(head + "cache: {disabled: true}\nsources: " + tc.sources + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			a := c.Build(BuildOptions{}).Resolve(tc.image)
			if len(a.Credentials) != tc.want || len(a.Errors()) > 0 {
				t.Errorf("answer %+v, errors %v; want %d credentials", a.Credentials, a.Errors(), tc.want)
			}
		})
	}
}
