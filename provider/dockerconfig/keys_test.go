package dockerconfig

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		src  *Source
		want []string
		err  string
	}{
		{
			name: "usable entries only, normalized, deduplicated, sorted",
			src: &Source{Path: writeFile(t, dir, "a.json", `{"auths":{
				"https://index.docker.io/v1/": {"auth":"`+EncodeAuth("u", "p")+`"},
				"quay.io/team-a":              {"username":"a","password":"pa"},
				"https://quay.io/team-a":      {"username":"a","password":"pa"},
				"localhost:5443":              {"username":"l","password":"pl"},
				"store.io":                    {},
				"token.io":                    {"identitytoken":"t"}
			},"credsStore":"desktop"}`)},
			want: []string{"index.docker.io", "localhost:5443", "quay.io/team-a"},
		},
		{
			name: "missing optional file",
			src:  &Source{Path: filepath.Join(dir, "none.json"), Optional: true},
		},
		{
			name: "missing named file",
			src:  &Source{Path: filepath.Join(dir, "none.json")},
			err:  "none.json: no such file or directory",
		},
		{
			name: "broken entry is reported, the rest listed",
			src:  &Source{Path: writeFile(t, dir, "b.json", `{"auths":{"r.io":{"username":"u","password":"p"},"bad.io":{"auth":"!!"}}}`)},
			want: []string{"r.io"},
			err:  `b.json: entry "bad.io": "auth" is not valid base64`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.src.Keys()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Keys() = %q, want %q", got, tc.want)
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error = %v, want %q", err, tc.err)
			}
		})
	}
}
