// Package shorten cuts text that goes into error messages and logs: the one
// place that decides how long a quoted part of some input may be and where
// a cut may fall, for every package from cache up to the commands.
package shorten

import (
	"strconv"
	"unicode/utf8"
)

// MaxQuoted bounds a value quoted in an error: errors are one line in the
// kubelet's log, and a value of a megabyte would bury it.
const MaxQuoted = 80

// Cut returns the longest prefix of s of at most n bytes that ends at a
// rune boundary.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Mark keeps at most n bytes of s and marks a cut with "...".
func Mark(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "..."
}

// Quote quotes s for an error message, Go-style, with at most MaxQuoted
// bytes of it, cut on a rune boundary and marked with "..." outside the
// quotes.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(Cut(s, MaxQuoted)) + "..."
}
