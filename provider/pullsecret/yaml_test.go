package pullsecret

import (
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

func TestQuoteYAML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"regcred", "regcred"},
		{".dockerconfigjson", ".dockerconfigjson"},
		{"app.kubernetes.io/name", "app.kubernetes.io/name"},
		{"kubernetes.io/dockerconfigjson", "kubernetes.io/dockerconfigjson"},
		{"eyJhdXRocyI6e30=", "eyJhdXRocyI6e30="},
		{"", `""`},
		{"yes", `"yes"`},
		{"Off", `"Off"`},
		{"null", `"null"`},
		{"0123", `"0123"`},
		{"1e3", `"1e3"`},
		{".inf", `".inf"`},
		{".5", `".5"`},
		{"-a", `"-a"`},
		{"a: b", `"a: b"`},
		{"a #b", `"a #b"`},
		{`say "hi" \o/`, `"say \"hi\" \\o/"`},
		{"tab\there\nline", `"tab\u0009here\u000aline"`},
		{"ä\u2028\x7f\ufeff😀", `"ä\u2028\u007f\ufeff😀"`},
	} {
		if got := quoteYAML(tc.in); got != tc.want {
			t.Errorf("quoteYAML(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// maxImplicitKey is YAML's bound on an implicit (plain or quoted, without
// "?") mapping key, in characters.
const maxImplicitKey = 1024

// FuzzQuoteYAML: whatever the string, the YAML library the Kubernetes tools
// use reads our scalar back as that same string, as a key and as a value.
func FuzzQuoteYAML(f *testing.F) {
	for _, s := range []string{"regcred", "yes", "0x1F", "a: b", "\"\\", "~", "ä\u2028", "- x", "? y", "!tag", "&a", "*a", "%x", "@x", "`x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // Build refuses these
		}
		q := quoteYAML(s)
		key := q
		if utf8.RuneCountInString(q) > maxImplicitKey {
			// YAML allows no longer implicit key. Ours are label and
			// annotation keys, at most 317 ASCII bytes once validated; a
			// longer string is still tested as a value.
			key = "k"
		}
		doc := []byte(key + ": " + q + "\n")
		var m map[string]string
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%q: %v\n%s", s, err, doc)
		}
		want := s
		if key == "k" {
			want = "k"
		}
		if len(m) != 1 || m[want] != s {
			t.Fatalf("%q read back as %q from\n%s", s, m, doc)
		}
	})
}
