package pullsecret

import (
	"fmt"
	"strings"
)

// quoteYAML returns s as a YAML scalar that every YAML 1.1 and 1.2 parser
// (kubectl's, the API server's, a GitOps tool's) reads back as the string
// s. Names, keys and base64 stay plain, as kubectl writes them; anything a
// parser might read as another type (true, no, null, 0123, .inf) or that
// holds indicators is double-quoted with escapes. s must be valid UTF-8;
// Build checks that.
func quoteYAML(s string) string {
	if plainSafe(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029,
			r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000 && r <= 0x10ffff:
			// Printable in YAML and not a line break of YAML 1.1.
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plainSafe is deliberately narrow: a letter first (so never a number,
// date or indicator), or a dot and a letter (.dockerconfigjson), then only
// characters that carry no meaning in a plain scalar, and none of the words
// YAML 1.1 reads as booleans or null.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	rest := s
	if s[0] == '.' {
		rest = s[1:]
		switch strings.ToLower(s) {
		case ".inf", ".nan":
			return false
		}
	}
	if rest == "" || !isLetter(rest[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !(c >= '0' && c <= '9') && !strings.ContainsRune("._/+=-", rune(c)) {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
