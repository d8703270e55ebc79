package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// MaxFileSize bounds what we read of a credentials file. Real ones are a few
// kilobytes; anything near this is not a docker config.
const MaxFileSize = 4 << 20

// Format names the two file layouts.
type Format string

const (
	// FormatConfigJSON is config.json: {"auths": {KEY: ENTRY}, "credsStore": ..., "credHelpers": ...}.
	FormatConfigJSON Format = "config.json"
	// FormatDockercfg is the legacy .dockercfg: {KEY: ENTRY}.
	FormatDockercfg Format = ".dockercfg"
)

// Entry is one credential of a file.
type Entry struct {
	// Key as written in the file, for messages.
	Key string
	// MatchKey is Key normalized as the kubelet normalizes it.
	MatchKey string
	Username string
	Password string
	Email    string
	// HasIdentityToken and HasRegistryToken record tokens the kubelet's
	// username/password answer cannot carry.
	HasIdentityToken bool
	HasRegistryToken bool
}

// Usable reports whether the entry can be given to the kubelet.
func (e *Entry) Usable() bool { return e.Username != "" || e.Password != "" }

// File is a parsed docker credentials file.
type File struct {
	Format  Format
	Entries []Entry // sorted by Key
	// CredsStore and CredHelpers name docker credential helpers.
	CredsStore  string
	CredHelpers map[string]string
	// Problems are entries that could not be read. They never quote secrets.
	Problems []error
}

// Load reads and parses the file at path. The format is chosen by content
// (see Parse); a file named .dockercfg is always the legacy format.
func Load(path string) (*File, error) {
	data, err := provider.ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(data, filepath.Base(path) == ".dockercfg")
}

// entryJSON is one entry as docker writes it. Unknown fields are ignored.
type entryJSON struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Email         string `json:"email"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// Parse parses a docker config. With legacy false the layout is detected: a
// top-level object with "auths", "credsStore" or "credHelpers" is config.json;
// one whose every member is an object is taken as .dockercfg (such files turn
// up under other names, for example copied out of a kubernetes.io/dockercfg
// Secret); anything else is config.json without credentials.
func Parse(data []byte, legacy bool) (*File, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, provider.DescribeJSONError(err)
	}
	if top == nil {
		return nil, errors.New("not a JSON object")
	}
	file := &File{Format: FormatConfigJSON}
	_, hasAuths := field(top, "auths")
	_, hasStore := field(top, "credsStore")
	_, hasHelpers := field(top, "credHelpers")
	var raw map[string]json.RawMessage
	if legacy || (!hasAuths && !hasStore && !hasHelpers && allObjects(top)) {
		file.Format = FormatDockercfg
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, errors.New("not a JSON object")
		}
	} else {
		// Each member is decoded into its field in document order, as
		// encoding/json (the kubelet's and docker's reader) does: "auths"
		// written twice, or as "AUTHS" beside "auths", merges into one map,
		// a later entry of the same key wins, and null empties it.
		for _, m := range members(data) {
			switch {
			case strings.EqualFold(m.name, "auths"):
				if err := json.Unmarshal(m.value, &raw); err != nil {
					return nil, fmt.Errorf(`"auths" must be an object`)
				}
			case strings.EqualFold(m.name, "credsStore"):
				if err := json.Unmarshal(m.value, &file.CredsStore); err != nil {
					file.Problems = append(file.Problems, errors.New(`"credsStore" must be a string`))
				}
			case strings.EqualFold(m.name, "credHelpers"):
				if err := json.Unmarshal(m.value, &file.CredHelpers); err != nil {
					file.Problems = append(file.Problems, errors.New(`"credHelpers" must be an object of strings`))
				}
			}
		}
	}
	for key, msg := range raw {
		e, err := parseEntry(key, msg)
		if err != nil {
			file.Problems = append(file.Problems, fmt.Errorf("entry %q: %w", key, err))
			continue
		}
		file.Entries = append(file.Entries, e)
	}
	sort.Slice(file.Entries, func(i, j int) bool { return file.Entries[i].Key < file.Entries[j].Key })
	sort.Slice(file.Problems, func(i, j int) bool { return file.Problems[i].Error() < file.Problems[j].Error() })
	return file, nil
}

func parseEntry(key string, msg json.RawMessage) (Entry, error) {
	var ej entryJSON
	if err := json.Unmarshal(msg, &ej); err != nil {
		return Entry{}, provider.DescribeJSONError(err)
	}
	mk, err := match.NormalizeKey(key)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{
		Key:              key,
		MatchKey:         mk,
		Username:         ej.Username,
		Password:         ej.Password,
		Email:            ej.Email,
		HasIdentityToken: ej.IdentityToken != "",
		HasRegistryToken: ej.RegistryToken != "",
	}
	if ej.Auth != "" {
		e.Username, e.Password, err = DecodeAuth(ej.Auth)
		if err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// DecodeAuth decodes the "auth" field, base64 of "username:password", padded
// or not, as the kubelet does.
func DecodeAuth(field string) (username, password string, err error) {
	enc := base64.RawStdEncoding
	if strings.HasSuffix(strings.TrimSpace(field), "=") {
		enc = base64.StdEncoding
	}
	decoded, err := enc.DecodeString(field)
	if err != nil {
		// base64's error holds only an offset, but say it our way.
		return "", "", errors.New(`"auth" is not valid base64`)
	}
	user, pass, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", errors.New(`"auth" must be base64 of "username:password"`)
	}
	return user, pass, nil
}

// EncodeAuth is the inverse of DecodeAuth, padded as docker writes it.
func EncodeAuth(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}

// member is one top-level member of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// members lists the top-level members of data, a JSON object already known
// to be valid, in document order and with repeated names kept.
func members(data []byte) []member {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		out = append(out, member{name, v})
	}
	return out
}

// field tells whether a member of m fills the struct field name the way
// encoding/json fills it, and so the way docker and the kubelet read these
// files: the exact name first, then any case-insensitive match.
func field(m map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func allObjects(m map[string]json.RawMessage) bool {
	if len(m) == 0 {
		return false
	}
	for _, v := range m {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '{' {
			return false
		}
	}
	return true
}
