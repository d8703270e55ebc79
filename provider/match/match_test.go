package match

import (
	"strings"
	"testing"
)

func TestNormalizeKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://index.docker.io/v1/", "index.docker.io"},
		{"index.docker.io", "index.docker.io"},
		{"docker.io", "docker.io"},
		{"http://registry.example.com", "registry.example.com"},
		{"https://registry.example.com/v2/", "registry.example.com"},
		{"https://registry.example.com/v2/team-a", "registry.example.com/team-a"},
		{"registry.example.com/v1/team-a/app", "registry.example.com/team-a/app"},
		{"registry.example.com/v1", "registry.example.com/v1"}, // only "/v1/" is stripped
		{"registry.example.com/", "registry.example.com"},
		{"localhost:5443", "localhost:5443"},
		{"quay.io/team-a", "quay.io/team-a"},
		{"*.azurecr.io", "*.azurecr.io"},
	} {
		got, err := NormalizeKey(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := NormalizeKey("https://host:port:bad/"); err == nil {
		t.Errorf("NormalizeKey accepted an unparsable URL")
	}
	if _, err := NormalizeKey("reg%zz.example/s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("NormalizeKey error = %v; want an error that does not quote the key", err)
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, image string
		want           bool
	}{
		// Hosts: one glob per label, same number of labels.
		{"*.azurecr.io", "myreg.azurecr.io/app", true},
		{"*.azurecr.io", "a.b.azurecr.io/app", false},
		{"*.azurecr.io", "azurecr.io/app", false},
		{"*kubernetes.io", "kubernetes.io/app", true},
		{"*kubernetes.io", "a.kubernetes.io/app", false},
		{"*.*.io", "a.b.io/app", true},
		{"registry.example.com", "registry.example.com/team/app", true},
		{"registry.example.com", "other.example.com/team/app", false},
		{"registry-*.example.com", "registry-1.example.com/app", true},
		// "?" starts a URL query and "[" an IPv6 literal before globbing
		// happens, so in the kubelet these patterns match nothing.
		{"registry-?.example.com", "registry-1.example.com/app", false},
		{"[ab].example.com", "a.example.com/app", false},
		{"[", "[/app", false}, // a bad glob matches nothing
		// Ports must be equal on both sides.
		{"localhost", "localhost:5000/app", false},
		{"localhost:5000", "localhost:5000/app", true},
		{"localhost:5000", "localhost:5001/app", false},
		{"localhost:5000", "localhost/app", false},
		{"*.example.com", "reg.example.com:443/app", false},
		// Path: plain string prefix.
		{"registry.io/foo", "registry.io/foobar/img", true},
		{"registry.io/foo", "registry.io/foo/img", true},
		{"registry.io/foo/", "registry.io/foobar/img", false},
		{"registry.io/foo/img", "registry.io/foo", false},
		{"quay.io/team-a", "quay.io/team-b/app", false},
		// Case-sensitive.
		{"Registry.example.com", "registry.example.com/app", false},
		{"registry.example.com/Team", "registry.example.com/team/app", false},
		// Docker Hub: docker.io matches directly, index.docker.io does not.
		{"docker.io", "docker.io/library/nginx", true},
		{"index.docker.io", "docker.io/library/nginx", false},
		{"registry-1.docker.io", "docker.io/library/nginx", false},
		// IPv6 registries.
		{"[::1]:5000", "[::1]:5000/app", true},
		{"[::1]:5000", "[::1]:5001/app", false},
	} {
		if got := Matches(tc.pattern, tc.image); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v; want %v", tc.pattern, tc.image, got, tc.want)
		}
	}
}

func TestSameHost(t *testing.T) {
	for _, tc := range []struct {
		pattern, image string
		want           bool
	}{
		{"quay.io/team-a", "quay.io/team-b/app", true},
		{"quay.io/team-a", "docker.io/team-a/app", false},
		{"*.example.com/x", "r.example.com/y", true},
		{"localhost:5000/x", "localhost/x", false},
	} {
		if got := SameHost(tc.pattern, tc.image); got != tc.want {
			t.Errorf("SameHost(%q, %q) = %v; want %v", tc.pattern, tc.image, got, tc.want)
		}
	}
}

func TestIsDockerHub(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  bool
	}{
		{"docker.io/library/nginx", true},
		{"quay.io/app", false},
		{"localhost/app", false},
		{"localhost:5000/app", false},
		{"index.docker.io/library/nginx", false}, // not a normalized image
	} {
		if got := IsDockerHub(tc.image); got != tc.want {
			t.Errorf("IsDockerHub(%q) = %v; want %v", tc.image, got, tc.want)
		}
	}
}

func TestRegistryAndHasPath(t *testing.T) {
	if got := Registry("localhost:5443/lab/busybox"); got != "localhost:5443" {
		t.Errorf("Registry = %q", got)
	}
	if HasPath("quay.io") || !HasPath("quay.io/team-a") {
		t.Errorf("HasPath is wrong")
	}
}

func FuzzMatches(f *testing.F) {
	f.Add("*.example.com/team", "a.example.com/team/app")
	f.Add("[", "x")
	f.Add("localhost:5000", "localhost:5000/app")
	f.Fuzz(func(t *testing.T, pattern, image string) {
		if Matches(pattern, image) && !SameHost(pattern, image) {
			t.Fatalf("Matches(%q, %q) without SameHost", pattern, image)
		}
		if k, err := NormalizeKey(pattern); err == nil {
			_ = Matches(k, image)
		}
	})
}

func TestNearMiss(t *testing.T) {
	for _, tc := range []struct{ pattern, image, want string }{
		{"quay.io/team-a", "quay.io/team-b/app", `it covers the path "team-a" and below, not this repository`},
		{"localhost", "localhost:5000/app", "the image's port is 5000"},
		{"localhost:5000", "localhost/app", "it names a port and the image has none"},
		{"*.example.com", "a.example.com:443/app", "the image's port is 443"},
		{"other.io", "quay.io/app", ""},
		{"quay.io", "quay.io/app", ""}, // a match is no near miss
	} {
		got := NearMiss(tc.pattern, tc.image)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("NearMiss(%q, %q) = %q; want %q", tc.pattern, tc.image, got, tc.want)
		}
	}
}
