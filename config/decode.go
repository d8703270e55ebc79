package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
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
			return provider.DescribeYAMLError(err, 1)
		}
	}
	strict, err := sigsjson.UnmarshalStrict(js, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		if ok, off := sigsjson.SyntaxErrorOffset(err); ok {
			return fmt.Errorf("not valid JSON (syntax error at byte %d)", off)
		}
		return provider.DescribeJSONError(err)
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

func quote(s string) string { return shorten.Quote(s) }
