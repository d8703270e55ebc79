package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DescribeJSONError rewrites an encoding/json error so that it says where the
// input is wrong without quoting it. encoding/json's own messages quote the
// offending character or value, which in a credentials file can be part of a
// password.
func DescribeJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("not valid JSON (syntax error at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Errorf("field %q must be %s, not %s", typ.Field, describeType(typ), typ.Value)
		}
		return fmt.Errorf("must be %s, not %s", describeType(typ), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not valid JSON (truncated)")
	default:
		return errors.New("not valid JSON")
	}
}

func describeType(typ *json.UnmarshalTypeError) string {
	if typ.Type == nil {
		return "another type"
	}
	switch typ.Type.Kind().String() {
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	default:
		return "a " + typ.Type.Kind().String()
	}
}

// Cut returns the longest prefix of s of at most n bytes that ends at a
// rune boundary.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Shorten keeps at most n bytes of s and marks a cut with "...": error
// messages quote parts of their input, and no quote may flood the
// kubelet's log.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "..."
}
