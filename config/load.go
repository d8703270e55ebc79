package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// DefaultCacheDir is the node-local cache's directory when neither
// --cache-dir nor cache.dir names one. A variable, so that a build can set
// it (-ldflags -X): the cmd tests do, so that no run they make leaves a
// cache, and its keyring, on the machine that tests it.
var DefaultCacheDir = "/var/lib/node-credential-provider/cache"

// Defaults.
const (
	DefaultCacheDuration = time.Minute
	DefaultCacheTTL      = 10 * time.Minute
	DefaultNegativeTTL   = 5 * time.Second
	DefaultHelperTimeout = 10 * time.Second
	// MaxHelperTimeout keeps a helper call well inside the kubelet's
	// 60-second limit for the whole plugin run.
	MaxHelperTimeout = 50 * time.Second
)

// Default is the configuration used without a file: the kubelet's docker
// config search list, and nothing else.
func Default() *Config {
	c := &Config{APIVersion: APIVersion, Kind: Kind}
	c.setDefaults()
	return c
}

// Load reads, decodes strictly, defaults and validates a configuration file.
// Every problem is reported, each with its field path.
func Load(file string) (*Config, error) {
	data, err := provider.ReadFile(file, MaxFileSize)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// Parse decodes, defaults and validates a configuration.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return nil, err
	}
	if c.APIVersion != APIVersion || c.Kind != Kind {
		return nil, fmt.Errorf("apiVersion/kind is %s/%s, expected %s/%s", quote(c.APIVersion), quote(c.Kind), APIVersion, Kind)
	}
	c.setDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

func (c *Config) setDefaults() {
	if c.CacheDuration == "" {
		c.CacheDuration = DefaultCacheDuration.String()
	}
	if c.Cache == nil {
		c.Cache = &Cache{}
	}
	if c.Cache.Dir == "" {
		c.Cache.Dir = DefaultCacheDir
	}
	if c.Cache.TTL == "" {
		c.Cache.TTL = DefaultCacheTTL.String()
	}
	if c.Cache.NegativeTTL == "" {
		c.Cache.NegativeTTL = DefaultNegativeTTL.String()
	}
	if c.Scoping == nil {
		c.Scoping = &Scoping{}
	}
	if c.Scoping.WithoutToken == "" {
		c.Scoping.WithoutToken = TokenlessAllow
	}
	for i := range c.Helpers {
		if c.Helpers[i].Timeout == "" {
			c.Helpers[i].Timeout = DefaultHelperTimeout.String()
		}
	}
	if len(c.Sources) == 0 {
		c.Sources = []Source{{DockerConfig: &DockerConfigSource{}}}
	}
	for i := range c.Sources {
		if c.Sources[i].Name == "" {
			c.Sources[i].Name = c.Sources[i].defaultName(i)
		}
	}
}

func (s *Source) defaultName(i int) string {
	if k := s.Settings(); k != nil {
		return fmt.Sprintf("sources[%d] (%s)", i, k.describe())
	}
	return fmt.Sprintf("sources[%d]", i)
}

// Validate returns every problem of a defaulted configuration.
func (c *Config) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	checkDuration := func(field, v string, max time.Duration) {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(field, "%s is not a duration such as \"10s\"", quote(v))
		case d < 0:
			bad(field, "must not be negative")
		case max > 0 && d > max:
			bad(field, "must be at most %s", max)
		}
	}
	checkDuration("cacheDuration", c.CacheDuration, 0)
	checkDuration("cache.ttl", c.Cache.TTL, 0)
	checkDuration("cache.negativeTTL", c.Cache.NegativeTTL, 0)
	if !filepath.IsAbs(c.Cache.Dir) {
		bad("cache.dir", "must be an absolute path")
	}
	if w := c.Scoping.WithoutToken; w != TokenlessAllow && w != TokenlessDeny {
		bad("scoping.withoutToken", "must be %q or %q", TokenlessAllow, TokenlessDeny)
	}
	seenHelper := map[string]bool{}
	for i, h := range c.Helpers {
		f := fmt.Sprintf("helpers[%d]", i)
		if err := provider.CheckHelperName(h.Name); err != nil {
			bad(f+".name", "%v", err)
		}
		if seenHelper[h.Name] {
			bad(f+".name", "duplicate helper %s", quote(h.Name))
		}
		seenHelper[h.Name] = true
		checkDuration(f+".timeout", h.Timeout, MaxHelperTimeout)
		if h.CacheTTL != "" {
			checkDuration(f+".cacheTTL", h.CacheTTL, 0)
		}
		for j, w := range h.Watch {
			if !filepath.IsAbs(w) {
				bad(fmt.Sprintf("%s.watch[%d]", f, j), "must be an absolute path")
			}
		}
		for _, k := range slices.Sorted(maps.Keys(h.Env)) {
			if !isEnvName(k) {
				bad(f+".env", "%s is not an environment variable name", quote(k))
			}
		}
	}
	seenName := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		f := fmt.Sprintf("sources[%d]", i)
		if seenName[s.Name] {
			bad(f+".name", "duplicate source name %s", quote(s.Name))
		}
		seenName[s.Name] = true
		n := 0
		for _, k := range s.kinds() {
			if k.isSet() {
				n++
			}
		}
		if n != 1 {
			bad(f, "must set exactly one of %s (has %d)", strings.Join(KindNames(), ", "), n)
		}
		for j, p := range s.MatchImages {
			if err := match.ValidatePattern(p); err != nil {
				bad(fmt.Sprintf("%s.matchImages[%d]", f, j), "%s: %v", quote(p), err)
			}
		}
		if k := s.Settings(); k != nil {
			k.validate(f, s, bad)
		}
		if a := s.Allow; a != nil {
			for j, sa := range a.ServiceAccounts {
				ns, name, ok := strings.Cut(sa, "/")
				if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
					bad(fmt.Sprintf("%s.allow.serviceAccounts[%d]", f, j), "%s must be NAMESPACE/NAME", quote(sa))
				}
			}
			for j, g := range append(append([]string{}, a.Namespaces...), a.ServiceAccounts...) {
				if _, err := path.Match(g, ""); err != nil {
					bad(fmt.Sprintf("%s.allow", f), "pattern %d %s is not a valid glob", j, quote(g))
				}
			}
		}
	}
	return errs
}

// isEnvName accepts [A-Za-z_][A-Za-z0-9_]*.
func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// Durations parsed; Validate has checked them.
func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// CacheDurationValue is the cacheDuration suggested to the kubelet.
func (c *Config) CacheDurationValue() time.Duration { return mustDuration(c.CacheDuration) }

// TTLs of the node-local cache.
func (c *Cache) TTLValue() time.Duration         { return mustDuration(c.TTL) }
func (c *Cache) NegativeTTLValue() time.Duration { return mustDuration(c.NegativeTTL) }

// HelperSettings are how one helper runs, defaults applied.
type HelperSettings struct {
	Timeout  time.Duration
	Env      map[string]string
	CacheTTL time.Duration
	Watch    []string
}

// HelperSettings returns the settings of helper name: its entry in Helpers,
// or the defaults.
func (c *Config) HelperSettings(name string) HelperSettings {
	hs := HelperSettings{Timeout: DefaultHelperTimeout, CacheTTL: c.Cache.TTLValue()}
	for _, h := range c.Helpers {
		if h.Name == name {
			hs.Timeout, hs.Env, hs.Watch = mustDuration(h.Timeout), h.Env, h.Watch
			if h.CacheTTL != "" {
				hs.CacheTTL = mustDuration(h.CacheTTL)
			}
		}
	}
	if name == "pass" && len(hs.Watch) == 0 {
		store := hs.Env["PASSWORD_STORE_DIR"]
		if store == "" {
			if home := hs.Env["HOME"]; home != "" {
				store = filepath.Join(home, ".password-store")
			} else if home, err := os.UserHomeDir(); err == nil {
				store = filepath.Join(home, ".password-store")
			}
		}
		if store != "" {
			hs.Watch = []string{store}
		}
	}
	return hs
}
