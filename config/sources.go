package config

import (
	"fmt"
	"path/filepath"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// The kinds of source, as plain settings. Each kind's settings type is set
// in one field of Source, listed once in Source.kinds, and validates its own
// fields. What a kind does (its constructor and its validate-time checks) is
// registered in package provider/assemble; see CONTRIBUTING.md for adding a
// kind.

// Source is one place credentials come from. Exactly one of its kinds is
// set.
type Source struct {
	// Name identifies the source in logs, explain and errors. Default: its
	// kind and position, such as "sources[1] (credentialHelper pass)".
	Name string `json:"name,omitempty"`
	// MatchImages restricts the source to images matching one of these
	// patterns, with the kubelet's matchImages rules. Empty: every image.
	// Required for static sources, which answer under the matching pattern.
	MatchImages []string `json:"matchImages,omitempty"`
	// Allow restricts the source to pods whose service account satisfies it.
	Allow *Allow `json:"allow,omitempty"`

	DockerConfig     *DockerConfigSource     `json:"dockerConfig,omitempty"`
	CredentialHelper *CredentialHelperSource `json:"credentialHelper,omitempty"`
	PodmanAuth       *PodmanAuthSource       `json:"podmanAuth,omitempty"`
	Static           *StaticSource           `json:"static,omitempty"`
}

// SourceKind is the settings of one kind of source.
type SourceKind interface {
	// Kind is the name of the Source field that holds it ("dockerConfig").
	Kind() string
	// describe names a configured source of this kind in its default name.
	describe() string
	// validate reports problems of the settings of s, the source at field
	// path f ("sources[0]").
	validate(f string, s *Source, bad func(field, format string, args ...any))
	isSet() bool
}

// kinds lists the kind fields of s, set or not, in the order the docs name
// them.
func (s *Source) kinds() []SourceKind {
	return []SourceKind{s.DockerConfig, s.CredentialHelper, s.PodmanAuth, s.Static}
}

// Settings returns the one kind s sets, or nil when it sets none or
// several (Validate reports that).
func (s *Source) Settings() SourceKind {
	var set SourceKind
	for _, k := range s.kinds() {
		if k.isSet() {
			if set != nil {
				return nil
			}
			set = k
		}
	}
	return set
}

// KindNames are the names of every kind of source, in order.
func KindNames() []string {
	var out []string
	for _, k := range (&Source{}).kinds() {
		out = append(out, k.Kind())
	}
	return out
}

// DockerConfigSource reads docker config.json / .dockercfg files, with
// their credsStore and credHelpers.
type DockerConfigSource struct {
	// Paths are read in order. Empty: the kubelet's search list.
	Paths []string `json:"paths,omitempty"`
}

func (*DockerConfigSource) Kind() string     { return "dockerConfig" }
func (*DockerConfigSource) describe() string { return "dockerConfig" }
func (d *DockerConfigSource) isSet() bool    { return d != nil }
func (d *DockerConfigSource) validate(f string, _ *Source, bad func(field, format string, args ...any)) {
	for j, p := range d.Paths {
		if !filepath.IsAbs(p) {
			bad(fmt.Sprintf("%s.dockerConfig.paths[%d]", f, j), "must be an absolute path")
		}
	}
}

// CredentialHelperSource asks a docker credential helper directly.
type CredentialHelperSource struct {
	// Helper is the helper's name ("pass" for docker-credential-pass).
	Helper string `json:"helper"`
}

func (*CredentialHelperSource) Kind() string       { return "credentialHelper" }
func (c *CredentialHelperSource) describe() string { return "credentialHelper " + c.Helper }
func (c *CredentialHelperSource) isSet() bool      { return c != nil }
func (c *CredentialHelperSource) validate(f string, _ *Source, bad func(field, format string, args ...any)) {
	if err := provider.CheckHelperName(c.Helper); err != nil {
		bad(f+".credentialHelper.helper", "%v", err)
	}
}

// PodmanAuthSource reads a containers auth.json, whose keys may be scoped
// to a namespace or repository.
type PodmanAuthSource struct {
	// Path of the file. Empty: $REGISTRY_AUTH_FILE, else the first of
	// $XDG_RUNTIME_DIR/containers/auth.json, /run/containers/0/auth.json and
	// $HOME/.config/containers/auth.json that holds a credential.
	Path string `json:"path,omitempty"`
}

func (*PodmanAuthSource) Kind() string     { return "podmanAuth" }
func (*PodmanAuthSource) describe() string { return "podmanAuth" }
func (p *PodmanAuthSource) isSet() bool    { return p != nil }
func (p *PodmanAuthSource) validate(f string, _ *Source, bad func(field, format string, args ...any)) {
	if p.Path != "" && !filepath.IsAbs(p.Path) {
		bad(f+".podmanAuth.path", "must be an absolute path")
	}
}

// StaticSource is a credential in two plain files, as config management or
// a hostPath mount drops them. The files are read on every request.
type StaticSource struct {
	UsernameFile string `json:"usernameFile"`
	PasswordFile string `json:"passwordFile"`
}

func (*StaticSource) Kind() string     { return "static" }
func (*StaticSource) describe() string { return "static" }
func (st *StaticSource) isSet() bool   { return st != nil }
func (st *StaticSource) validate(f string, s *Source, bad func(field, format string, args ...any)) {
	if len(s.MatchImages) == 0 {
		bad(f+".matchImages", "required for a static source: its credential is answered under the pattern that matched")
	}
	if !filepath.IsAbs(st.UsernameFile) {
		bad(f+".static.usernameFile", "must be an absolute path")
	}
	if !filepath.IsAbs(st.PasswordFile) {
		bad(f+".static.passwordFile", "must be an absolute path")
	}
}
