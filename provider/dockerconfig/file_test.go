package dockerconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// auth is EncodeAuth without padding, as some tools write it.
func rawAuth(user, pass string) string { return strings.TrimRight(EncodeAuth(user, pass), "=") }

func TestParseFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   string
		legacy bool
		format Format
		want   []Entry
	}{
		{
			name:   "config.json with auth, padded",
			data:   `{"auths":{"https://index.docker.io/v1/":{"auth":"` + EncodeAuth("hubuser", "hubpass") + `"}}}`,
			format: FormatConfigJSON,
			want:   []Entry{{Key: "https://index.docker.io/v1/", MatchKey: "index.docker.io", Username: "hubuser", Password: "hubpass"}},
		},
		{
			name:   "auth unpadded overrides username and password",
			data:   `{"auths":{"reg.example.com":{"auth":"` + rawAuth("a", "b:c") + `","username":"x","password":"y","email":"e@x"}}}`,
			format: FormatConfigJSON,
			want:   []Entry{{Key: "reg.example.com", MatchKey: "reg.example.com", Username: "a", Password: "b:c", Email: "e@x"}},
		},
		{
			name:   "username and password fields",
			data:   `{"auths":{"localhost:5443":{"username":"u","password":"p"}}}`,
			format: FormatConfigJSON,
			want:   []Entry{{Key: "localhost:5443", MatchKey: "localhost:5443", Username: "u", Password: "p"}},
		},
		{
			name:   "field names are case-insensitive as in encoding/json",
			data:   `{"Auths":{"r.io":{"Username":"u","PASSWORD":"p"}}}`,
			format: FormatConfigJSON,
			want:   []Entry{{Key: "r.io", MatchKey: "r.io", Username: "u", Password: "p"}},
		},
		{
			name:   "legacy by name",
			data:   `{"r.io":{"auth":"` + EncodeAuth("u", "p") + `","email":"e"}}`,
			legacy: true,
			format: FormatDockercfg,
			want:   []Entry{{Key: "r.io", MatchKey: "r.io", Username: "u", Password: "p", Email: "e"}},
		},
		{
			name:   "legacy by content",
			data:   `{"https://r.io/v1/":{"auth":"` + EncodeAuth("u", "p") + `"}}`,
			format: FormatDockercfg,
			want:   []Entry{{Key: "https://r.io/v1/", MatchKey: "r.io", Username: "u", Password: "p"}},
		},
		{
			name:   "config.json with settings only",
			data:   `{"psFormat":"table","detachKeys":"ctrl-p"}`,
			format: FormatConfigJSON,
		},
		{
			name:   "tokens are recorded, not used",
			data:   `{"auths":{"r.io":{"identitytoken":"tok"},"s.io":{"registrytoken":"tok"}}}`,
			format: FormatConfigJSON,
			want: []Entry{
				{Key: "r.io", MatchKey: "r.io", HasIdentityToken: true},
				{Key: "s.io", MatchKey: "s.io", HasRegistryToken: true},
			},
		},
		{
			name:   "auths null",
			data:   `{"auths":null,"credsStore":"pass"}`,
			format: FormatConfigJSON,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.data), tc.legacy)
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != tc.format {
				t.Errorf("format = %q, want %q", f.Format, tc.format)
			}
			if len(f.Problems) > 0 {
				t.Errorf("problems: %v", f.Problems)
			}
			if !reflect.DeepEqual(f.Entries, tc.want) {
				t.Errorf("entries = %+v\nwant %+v", f.Entries, tc.want)
			}
		})
	}
}

func TestParseHelpers(t *testing.T) {
	f, err := Parse([]byte(`{"auths":{"r.io":{}},"credsStore":"pass","credHelpers":{"gcr.io":"gcloud"}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if f.CredsStore != "pass" || f.CredHelpers["gcr.io"] != "gcloud" {
		t.Errorf("helpers = %q %v", f.CredsStore, f.CredHelpers)
	}
	res := f.Lookup("r.io/app")
	if len(res.Credentials) != 0 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], `credsStore "pass"`) {
		t.Errorf("placeholder entry: %+v", res)
	}
}

// A broken entry costs only itself; its error names the entry but no secret.
func TestParseBrokenEntries(t *testing.T) {
	const secret = "hunter2-secret"
	data := `{"auths":{
		"good.io":{"username":"u","password":"p"},
		"bad64.io":{"auth":"` + secret + `!!"},
		"nocolon.io":{"auth":"` + EncodeAuth(secret, "")[:8] + `"},
		"type.io":{"username":5,"password":"` + secret + `"},
		"https://bad url/":{"username":"u","password":"p"},
		"notobj.io":"` + secret + `"
	}}`
	f, err := Parse([]byte(data), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 1 || f.Entries[0].Key != "good.io" {
		t.Errorf("entries = %+v", f.Entries)
	}
	if len(f.Problems) != 5 {
		t.Errorf("want 5 problems, got %v", f.Problems)
	}
	for _, p := range f.Problems {
		if strings.Contains(p.Error(), secret) || strings.Contains(p.Error(), "hunter") {
			t.Errorf("problem leaks a secret: %v", p)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	for _, data := range []string{
		``,
		`null`,
		`[]`,
		`"str"`,
		`{"auths":{"r.io":{"password":"` + secret + `"}`,
		`{"auths":{"r.io":{"password":"` + secret + `"x}}}`,
		`{"auths":["` + secret + `"]}`,
		`{"auths":"` + secret + `"}`,
	} {
		f, err := Parse([]byte(data), false)
		if err == nil {
			t.Errorf("Parse(%q) = %+v; want an error", data, f)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(dir, ".dockercfg")
	// A bare map whose values are objects would be detected anyway; make it
	// one that is not, to prove the name decides.
	if err := os.WriteFile(legacy, []byte(`{"auths":{"username":"u","password":"p"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(legacy)
	if err != nil || f.Format != FormatDockercfg || len(f.Entries) != 1 || f.Entries[0].Key != "auths" {
		t.Errorf("Load(.dockercfg) = %+v, %v", f, err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) error = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}`,
		`{"r.io":{"auth":"dTpw","email":"e"}}`,
		`{"auths":{"r.io":{}},"credsStore":"pass","credHelpers":{"a":"b"}}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, legacy bool) {
		file, err := Parse(data, legacy)
		if err != nil {
			return
		}
		for _, img := range []string{"docker.io/library/nginx", "r.io/app", "localhost:5443/a"} {
			res := file.Lookup(img)
			for _, c := range res.Credentials {
				if c.Username == "" && c.Password == "" {
					t.Fatalf("empty credential returned for %s", img)
				}
			}
		}
	})
}

var _ provider.Source = (*Source)(nil)

// FuzzDecodeAuth: "auth" is outside input. Whatever it holds, decoding
// never fails loudly with its content, and what we encode decodes back.
func FuzzDecodeAuth(f *testing.F) {
	f.Add("dTpw", "u", "p")
	f.Add("dTpw==", "", ":")
	f.Add(" dTpw= ", "a:b", "")
	f.Fuzz(func(t *testing.T, field, user, pass string) {
		if _, _, err := DecodeAuth(field); err != nil && strings.Contains(err.Error(), field) && len(field) > 4 {
			t.Fatalf("error quotes the field: %v", err)
		}
		if strings.Contains(user, ":") {
			return // docker cannot store such a username either
		}
		u, p, err := DecodeAuth(EncodeAuth(user, pass))
		if err != nil || u != user || p != pass {
			t.Fatalf("round trip of %q/%q gave %q/%q, %v", user, pass, u, p, err)
		}
	})
}

// "auths" written twice, or in another case, merges as encoding/json merges
// it: the kubelet and docker read config.json with encoding/json.
func TestParseRepeatedAuths(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`{"auths":{"a.io":{"auth":"YTox"}},"auths":{"b.io":{"auth":"Yjoy"}}}`, "a.io=a b.io=b"},
		{`{"AUTHS":{"a.io":{"auth":"YTox"}},"auths":{"b.io":{"auth":"Yjoy"}}}`, "a.io=a b.io=b"},
		{`{"auths":{"a.io":{"auth":"YTox"}},"Auths":{"a.io":{"auth":"Yjoy"}}}`, "a.io=b"},
		{`{"auths":{"a.io":{"auth":"YTox"}},"auths":null,"auths":{"b.io":{"auth":"Yjoy"}}}`, "b.io=b"},
		{`{"credHelpers":{"a.io":"x"},"CREDHELPERS":{"b.io":"y"},"credsStore":"s1","credsstore":"s2"}`, "helpers a.io=x b.io=y store s2"},
	} {
		f, err := Parse([]byte(tc.file), false)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var got []string
		for _, e := range f.Entries {
			got = append(got, e.Key+"="+e.Username)
		}
		if len(f.CredHelpers) > 0 {
			got = append(got, "helpers")
			for _, k := range []string{"a.io", "b.io"} {
				got = append(got, k+"="+f.CredHelpers[k])
			}
			got = append(got, "store "+f.CredsStore)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %q, want %q", tc.file, strings.Join(got, " "), tc.want)
		}
	}
}
