package shorten

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"}, // é is two bytes: never half a rune
		{"日本", 4, "日"},
		{"abc", 0, ""},
		{"abc", -1, ""},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := Mark("abcdef", 3); got != "abc..." {
		t.Errorf("Mark = %q", got)
	}
	if got := Mark("abc", 3); got != "abc" {
		t.Errorf("Mark = %q", got)
	}
}

func TestQuote(t *testing.T) {
	if got := Quote("a\"b"); got != `"a\"b"` {
		t.Errorf("Quote = %s", got)
	}
	long := strings.Repeat("é", 100)
	got := Quote(long)
	if !strings.HasSuffix(got, `"...`) || len(got) > MaxQuoted+5 || !utf8.ValidString(got) {
		t.Errorf("Quote(long) = %s", got)
	}
}
