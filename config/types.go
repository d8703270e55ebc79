package config

// Group, Version and Kind of our configuration file.
const (
	Group      = "config.node-credential-provider.io"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	Kind       = "NodeCredentialProviderConfig"
)

// Config is the configuration file. Durations are Go duration strings
// ("10s", "1m30s"), as in Kubernetes APIs.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// CacheDuration is the cacheDuration we suggest to the kubelet for an
	// answer with credentials. Default 1m. Misses are always "0s".
	CacheDuration string `json:"cacheDuration,omitempty"`
	// Cache configures our node-local cache of credential-helper answers.
	Cache *Cache `json:"cache,omitempty"`
	// Helpers sets the timeout and environment of docker credential helpers,
	// whether named by a source or by a docker config's credsStore or
	// credHelpers.
	Helpers []Helper `json:"helpers,omitempty"`
	// Scoping says what requests may use when the kubelet sends a
	// service-account token (tokenAttributes in its config).
	Scoping *Scoping `json:"scoping,omitempty"`
	// Sources are consulted in order; the first with a credential for the
	// image answers. Default: one dockerConfig source with the kubelet's
	// search list.
	Sources []Source `json:"sources,omitempty"`
}

// Cache configures the node-local cache of credential-helper answers.
type Cache struct {
	// Disabled turns the cache off: every request runs the helpers.
	Disabled bool `json:"disabled,omitempty"`
	// Dir holds the cache's index and locks (never a plain-text secret).
	// Default /var/lib/node-credential-provider/cache.
	Dir string `json:"dir,omitempty"`
	// TTL bounds how long a helper's answer is reused. Default 10m. Never
	// longer than the credential's own lifetime when the source tells it.
	TTL string `json:"ttl,omitempty"`
	// NegativeTTL is how long a failed or empty lookup is remembered.
	// Default 5s, so a registry added to a store works within seconds.
	NegativeTTL string `json:"negativeTTL,omitempty"`
}

// Helper sets how one docker credential helper runs.
type Helper struct {
	// Name is the helper's name: "pass" runs docker-credential-pass from PATH.
	Name string `json:"name"`
	// Timeout bounds one helper call. Default 10s, at most 50s: the kubelet
	// kills the plugin after 60s.
	Timeout string `json:"timeout,omitempty"`
	// Env adds variables to the helper's environment, which otherwise holds
	// only PATH, HOME, USER, LANG, XDG_RUNTIME_DIR and proxy variables. Put
	// paths here (GNUPGHOME, PASSWORD_STORE_DIR), not secrets.
	Env map[string]string `json:"env,omitempty"`
	// CacheTTL bounds how long this helper's answers are reused from the
	// node-local cache. Default cache.ttl.
	CacheTTL string `json:"cacheTTL,omitempty"`
	// Watch lists files or directories whose change means the helper's
	// store changed, so cached answers are not served after it: rotated
	// credentials are used on the next request, not after the TTL. Default
	// for pass: its password store ($PASSWORD_STORE_DIR or ~/.password-store).
	Watch []string `json:"watch,omitempty"`
}

// Allow says which pods may use a source. A request satisfies it when it
// carries a service-account token and every non-empty list matches: the
// namespace is in Namespaces, "namespace/name" is in ServiceAccounts, and
// each annotation has the given value. Entries may use shell globs ("team-*",
// "ci/*").
type Allow struct {
	Namespaces      []string          `json:"namespaces,omitempty"`
	ServiceAccounts []string          `json:"serviceAccounts,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	// WithoutToken lets requests without a token (static pods, a kubelet
	// without tokenAttributes) use the source too. Default false.
	WithoutToken bool `json:"withoutToken,omitempty"`
}

// Scoping holds the service-account rules that are not per source.
type Scoping struct {
	// WithoutToken is what a request without a service-account token may
	// use: "Allow" (default) every source without an allow block, "Deny"
	// none of them.
	WithoutToken string `json:"withoutToken,omitempty"`
	// Audience, when set, must be among the token's audiences: the
	// serviceAccountTokenAudience of the kubelet's tokenAttributes.
	Audience string `json:"audience,omitempty"`
}

// Scoping.WithoutToken values.
const (
	TokenlessAllow = "Allow"
	TokenlessDeny  = "Deny"
)
