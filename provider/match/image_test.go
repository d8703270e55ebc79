package match

import (
	"strings"
	"testing"
)

func TestNormalizeImage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// What the kubelet sends passes through unchanged.
		{"docker.io/library/nginx", "docker.io/library/nginx"},
		{"localhost:5443/lab/busybox", "localhost:5443/lab/busybox"},
		{"quay.io/team-a/app", "quay.io/team-a/app"},
		// What people type.
		{"nginx", "docker.io/library/nginx"},
		{"nginx:1.27", "docker.io/library/nginx"},
		{"library/nginx:latest", "docker.io/library/nginx"},
		{"bitnami/redis", "docker.io/bitnami/redis"},
		{"index.docker.io/library/nginx", "docker.io/library/nginx"},
		{"docker.io/nginx", "docker.io/library/nginx"},
		{"localhost:5000/foo/bar:tag", "localhost:5000/foo/bar"},
		{"localhost/foo", "localhost/foo"},
		{"registry.example.com:5443/a/b/c@sha256:" + strings.Repeat("ab", 32), "registry.example.com:5443/a/b/c"},
		{"registry.example.com/app:v1@sha256:" + strings.Repeat("0", 64), "registry.example.com/app"},
		{"Registry.Example.com/app", "Registry.Example.com/app"},
		{"UPPER/app", "UPPER/app"},
		{"[::1]:5000/app", "[::1]:5000/app"},
		{"reg.example.com/a_b/c__d/e-f/g--h/i.j", "reg.example.com/a_b/c__d/e-f/g--h/i.j"},
		// distribution/reference reads a first component that is no host
		// as part of the path; the kubelet still matches it as a host.
		{"my_reg.example.com/app", "my_reg.example.com/app"},
		{"reg_x.example.com/app:v1", "reg_x.example.com/app"},
		// The 255-character limit is on the path, not the whole name.
		{"registry.example.com/" + strings.Repeat("a", 255), "registry.example.com/" + strings.Repeat("a", 255)},
		{"app@sha384:" + strings.Repeat("0", 96), "docker.io/library/app"},
		{"app@sha512:" + strings.Repeat("f", 128), "docker.io/library/app"},
		{"localhost:5000", "docker.io/library/localhost"},
		{"[::1]/app", "[::1]/app"},
	} {
		got, err := NormalizeImage(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeImage(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeImageErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"https://registry.example.com/app",
		"registry.example.com/App",
		"registry.example.com/app name",
		"registry.example.com/app\n",
		"registry.example.com//app",
		"registry.example.com/",
		"registry.example.com/app:",
		"registry.example.com/app:-bad",
		"registry.example.com/app@sha256",
		"registry.example.com/app@sha256:xyz",
		"registry.example.com:/app",
		"registry.example.com:port/app",
		"reg..example.com/app",
		"reg_x.example.com:5000/app", // a port makes it a host, and "_" is no host character
		"-reg.example.com/app",
		"reg-.example.com:5000/app",
		"[::1.2]:5000/app",
		"[]:5000/app",
		"registry.example.com/app@sha256:00",
		"registry.example.com/app@md5:abcd",
		"registry.example.com/app@md5:" + strings.Repeat("ab", 16),
		"registry.example.com/app@sha256:" + strings.Repeat("AB", 32),
		"registry.example.com/app@sha256:" + strings.Repeat("ab", 33),
		"registry.example.com/app@SHA256:" + strings.Repeat("ab", 32),
		strings.Repeat("ab", 32),
		"x/" + strings.Repeat("a", 254), // docker.io/x/aaa...: a 256-character path
		"registry.example.com/-app",
		"registry.example.com/app-",
		"registry.example.com/a___b",
		"registry.example.com/a._b",
		"[::1/app",
		"[::1]x/app",
		"[zz]:5000/app",
		"registry.example.com/" + strings.Repeat("a", 256),
		"registry.example.com/ä",
	} {
		if got, err := NormalizeImage(in); err == nil {
			t.Errorf("NormalizeImage(%q) = %q; want an error", in, got)
		}
	}
}

func FuzzNormalizeImage(f *testing.F) {
	for _, s := range []string{"nginx:1.27", "localhost:5000/foo/bar:tag", "[::1]:5000/app@sha256:00", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeImage(in)
		if err != nil {
			return
		}
		// The normal form is a fixed point, and a registry is always explicit.
		again, err := NormalizeImage(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeImage(%q) = %q, but NormalizeImage(%q) = %q, %v", in, out, out, again, err)
		}
		if !strings.Contains(out, "/") || strings.ContainsAny(out, "@ ") {
			t.Fatalf("NormalizeImage(%q) = %q: not host/path", in, out)
		}
	})
}
