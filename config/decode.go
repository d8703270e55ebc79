package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// MaxFileSize bounds a configuration file.
const MaxFileSize = 1 << 20

// decodeStrict decodes YAML or JSON into v: unknown fields, duplicate fields
// and fields in the wrong case are errors that name the field's path. Error
// messages never quote values (an env entry could hold something sensitive).
func decodeStrict(data []byte, v any) error {
	if len(data) > MaxFileSize {
		return fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	js := data
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		var err error
		js, err = yaml.YAMLToJSONStrict(data)
		if err != nil {
			return describeYAMLError(err)
		}
	}
	strict, err := sigsjson.UnmarshalStrict(js, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		if ok, off := sigsjson.SyntaxErrorOffset(err); ok {
			return fmt.Errorf("not valid JSON (syntax error at byte %d)", off)
		}
		return describeTypeError(err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = strings.TrimPrefix(e.Error(), "json: ")
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// maxQuoted bounds a value quoted in an error: the error is one line in
// the kubelet's log, and a value of a megabyte would bury it.
const maxQuoted = 80

// quote quotes s for an error message, shortened on a rune boundary.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(provider.Cut(s, maxQuoted)) + "..."
}

// The patterns below read error messages, so they are compiled only when
// there is an error: package-level regexps cost every plugin start.
var (
	yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })
	yamlDup  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): key ("[^"]*") already set in map`) })
)

// describeYAMLError keeps the line number and, for duplicate keys, the key;
// go-yaml's other messages may quote the offending value.
func describeYAMLError(err error) error {
	msg := err.Error()
	if m := yamlDup().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("line %s: duplicate field %s", m[1], m[2])
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("not valid YAML (line %s)", m[1])
	}
	return errors.New("not valid YAML")
}

// jsonTypeError matches encoding/json's "json: cannot unmarshal X into Go
// struct field T.a.b of type Y" and our own Duration errors, which sigs.k8s.io/json
// reports with the field path.
var jsonTypeError = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`cannot unmarshal (\w+) into Go struct field [A-Za-z]+\.([\w.\[\]]+) of type ([\w.\[\]*]+)`)
})

func describeTypeError(err error) error {
	msg := err.Error()
	if m := jsonTypeError().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("field %s must be %s, not %s", quote(m[2]), goTypeName(m[3]), m[1])
	}
	// Errors from our UnmarshalJSON methods say what is expected and quote
	// only a duration string.
	return errors.New(strings.TrimPrefix(msg, "json: "))
}

func goTypeName(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map"):
		return "a map"
	case strings.HasPrefix(t, "int"):
		return "an integer"
	default:
		return "an object"
	}
}
