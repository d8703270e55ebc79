package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
)

// DescribeJSONError rewrites an encoding/json or sigs.k8s.io/json error so that it says where the
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
	}
	return errors.New("not valid JSON")
}

// The patterns below read error messages, so they are compiled only when
// there is an error: package-level regexps cost every plugin start.
var (
	yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })
	yamlDup  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): key ("[^"]*") already set in map`) })
)

// DescribeYAMLError rewrites a YAML error (go-yaml's, through
// sigs.k8s.io/yaml) so that it keeps the line number and, for a duplicate
// key, the key, and nothing else: go-yaml's other messages may quote the
// offending value, which may be a secret. firstLine is the line of the
// input on which the decoded document starts (1 for the whole input).
func DescribeYAMLError(err error, firstLine int) error {
	msg := err.Error()
	line := func(s string) int {
		n, _ := strconv.Atoi(s)
		return firstLine + n - 1
	}
	if m := yamlDup().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("line %d: duplicate field %s", line(m[1]), shorten.Quote(unquote(m[2])))
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("not valid YAML (line %d)", line(m[1]))
	}
	return errors.New("not valid YAML")
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"`)
}

func describeType(typ *json.UnmarshalTypeError) string {
	if typ.Type == nil {
		return "another type"
	}
	switch typ.Type.Kind().String() {
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "a list"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	default:
		return "a " + typ.Type.Kind().String()
	}
}
