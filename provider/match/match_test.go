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

func TestWireKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want []string // every spelling, in order
	}{
		{"quay.io", []string{"quay.io", "https://quay.io", "http://quay.io", "quay.io/v1/", "https://quay.io/v1/", "http://quay.io/v1/", "quay.io/v2/", "https://quay.io/v2/", "http://quay.io/v2/"}},
		{"quay.io/team", []string{"quay.io/team", "https://quay.io/team", "http://quay.io/team", "quay.io/v1/team", "https://quay.io/v1/team", "http://quay.io/v1/team", "quay.io/v2/team", "https://quay.io/v2/team", "http://quay.io/v2/team"}},
		// A path that itself starts with /v1/ or /v2/ needs one more.
		{"quay.io/v2/team", []string{"quay.io/v1/v2/team", "https://quay.io/v1/v2/team", "http://quay.io/v1/v2/team", "quay.io/v2/v2/team", "https://quay.io/v2/v2/team", "http://quay.io/v2/v2/team"}},
		{"localhost:5000/v1/x", []string{"localhost:5000/v1/v1/x", "https://localhost:5000/v1/v1/x", "http://localhost:5000/v1/v1/x", "localhost:5000/v2/v1/x", "https://localhost:5000/v2/v1/x", "http://localhost:5000/v2/v1/x"}},
		{"quay.io/v2", []string{"quay.io/v2", "https://quay.io/v2", "http://quay.io/v2", "quay.io/v1/v2", "https://quay.io/v1/v2", "http://quay.io/v1/v2", "quay.io/v2/v2", "https://quay.io/v2/v2", "http://quay.io/v2/v2"}},
		{"*.example.com", []string{"*.example.com", "https://*.example.com", "http://*.example.com", "*.example.com/v1/", "https://*.example.com/v1/", "http://*.example.com/v1/", "*.example.com/v2/", "https://*.example.com/v2/", "http://*.example.com/v2/"}},
		// No spelling is read back as a key with a "%" or "?" in its path.
		{"quay.io/a%b", nil},
		{"quay.io/a?b", nil},
	} {
		var got []string
		for n := 0; ; n++ {
			w, err := WireKey(tc.key, n)
			if err != nil {
				break
			}
			if back, err := NormalizeKey(w); err != nil || back != tc.key {
				t.Errorf("WireKey(%q, %d) = %q, which is read back as %q, %v", tc.key, n, w, back, err)
			}
			got = append(got, w)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("WireKey(%q, 0...) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestPatternKey(t *testing.T) {
	for in, want := range map[string]string{
		"quay.io":           "quay.io",
		"quay.io/":          "quay.io",
		"quay.io/v2/team":   "quay.io/v2/team", // literal, as the kubelet matches matchImages
		"quay.io/v1/":       "quay.io/v1/",
		"localhost:5000/x/": "localhost:5000/x/",
		"quay.io/te%61m":    "quay.io/team",
		// With a scheme, a docker config key.
		"https://quay.io/v2/team": "quay.io/team",
		"https://quay.io/v1/":     "quay.io",
	} {
		if got, err := PatternKey(in); err != nil || got != want {
			t.Errorf("PatternKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestValidatePatternRoundTrip(t *testing.T) {
	for _, ok := range []string{"quay.io/v2/team", "quay.io/v1/", "reg.example.com:5443/v2/x"} {
		if err := ValidatePattern(ok); err != nil {
			t.Errorf("ValidatePattern(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"quay.io/a%2525b", "quay.io/a%3Fb"} {
		if err := ValidatePattern(bad); err == nil {
			t.Errorf("ValidatePattern(%q) = nil, want an error: no key we send is read back as it", bad)
		}
	}
}
