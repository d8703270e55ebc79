package kube_test

// Our image normalization against distribution/reference, which the kubelet
// uses to parse every image (pkg/util/parsers.ParseImageName): both accept
// and refuse the same references, and agree on the name the kubelet sends.

import (
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// referenceSeeds are hand-made references along the grammar's edges; the
// fuzzer starts from them.
var referenceSeeds = []string{
	"nginx", "nginx:1.27", "library/nginx", "docker.io/nginx", "index.docker.io/library/nginx",
	"localhost", "localhost:5000", "localhost/app", "localhost:5000/a/b:tag",
	"my_reg.example.com/app", "my_reg.example.com:5000/app", "reg_x/app", "Reg.Example.com/app", "UPPER/app", "upper/App",
	"-reg.example.com/app", "reg-.example.com/app", "re--g.example.com/app",
	"[::1]/app", "[::1]:5000/app", "[::1.2]/app", "[]/app", "[fe80::1%25eth0]/app",
	"reg.example.com:/app", "reg.example.com:x/app", "reg.example.com/app:", "reg.example.com/app:-x", "reg.example.com/app:_x",
	"reg.example.com/a__b", "reg.example.com/a___b", "reg.example.com/a._b", "reg.example.com/a--b", "reg.example.com//a",
	"reg.example.com/app@sha256:" + strings.Repeat("ab", 32), "reg.example.com/app:v1@sha256:" + strings.Repeat("0", 64),
	"reg.example.com/app@sha256:00", "reg.example.com/app@md5:abcd", "reg.example.com/app@sha256:" + strings.Repeat("AB", 32),
	"reg.example.com/app@sha384:" + strings.Repeat("1", 96), "reg.example.com/app@sha512:" + strings.Repeat("1", 128),
	"reg.example.com/app@sha256:" + strings.Repeat("ab", 33), "reg.example.com/app@SHA256:" + strings.Repeat("ab", 32),
	"app@sha256:" + strings.Repeat("ab", 32), strings.Repeat("ab", 32), "docker.io/" + strings.Repeat("ab", 32),
	"reg.example.com/" + strings.Repeat("a", 255), "reg.example.com/" + strings.Repeat("a", 256), "x/" + strings.Repeat("a", 253),
	"reg.example.com/app:" + strings.Repeat("t", 128), "reg.example.com/app:" + strings.Repeat("t", 129),
	"https://reg.example.com/app", "user@reg.example.com/app", "reg.example.com/app name", "reg.example.com/ä", "",
}

// reference's answer: the name the kubelet sends, or an error.
func referenceName(s string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", false
	}
	return named.Name(), true
}

func compareReference(t *testing.T, s string) {
	t.Helper()
	want, wantOK := referenceName(s)
	got, err := match.NormalizeImage(s)
	switch {
	case wantOK && err != nil:
		t.Errorf("%q: distribution/reference accepts it as %q, NormalizeImage refuses: %v", s, want, err)
	case !wantOK && err == nil:
		t.Errorf("%q: distribution/reference refuses it, NormalizeImage gives %q", s, got)
	case wantOK && got != want:
		t.Errorf("%q: distribution/reference gives %q, NormalizeImage %q", s, want, got)
	}
}

func TestReferenceParity(t *testing.T) {
	accepted := 0
	for _, s := range referenceSeeds {
		if _, ok := referenceName(s); ok {
			accepted++
		}
		compareReference(t, s)
	}
	t.Logf("%d references compared, %d accepted by distribution/reference", len(referenceSeeds), accepted)
}

// FuzzReferenceParity: `go test -fuzz FuzzReferenceParity` in this module.
// Plain `go test` replays the seeds and testdata/fuzz.
func FuzzReferenceParity(f *testing.F) {
	for _, s := range referenceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { compareReference(t, s) })
}
