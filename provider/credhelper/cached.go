package credhelper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider/scope"
)

// Cacher is the node-local cache (package cache) as the helper uses it.
type Cacher interface {
	// Do's wait for another process's fetch ends when ctx is done.
	Do(ctx context.Context, key, fingerprint string, fetch func() ([]byte, time.Duration, error)) ([]byte, time.Duration, error)
}

// Caching holds a Helper's cache settings. The zero value caches nothing.
type Caching struct {
	Cache Cacher
	// TTL bounds how long an answer is reused; never longer than the
	// credential's own lifetime when it tells it (a JWT with "exp").
	TTL time.Duration
	// Watch lists files or directories whose change means the helper's
	// store changed (a pass store, say): entries made before are not served.
	Watch []string

	once        sync.Once
	fingerprint string
	mu          sync.Mutex
	remaining   time.Duration // shortest remaining lifetime of what was served
}

// maxWatchEntries bounds the walk of a watched directory.
const maxWatchEntries = 2000

// cached runs fetch through the cache when there is one.
func (h *Helper) cached(ctx context.Context, action, arg string, fetch func() ([]byte, time.Duration, error)) ([]byte, error) {
	c := h.Caching
	if c == nil || c.Cache == nil || c.TTL <= 0 {
		v, ttl, err := fetch()
		if err == nil && ttl > 0 {
			h.noteRemaining(ttl)
		}
		return v, err
	}
	c.once.Do(func() { c.fingerprint = h.computeFingerprint() })
	key := fmt.Sprintf("helper %s %s|%s %s", h.Name, envHash(h.Env), action, arg)
	v, remaining, err := c.Cache.Do(ctx, key, c.fingerprint, fetch)
	if err == nil && len(v) > 0 {
		h.noteRemaining(remaining)
	}
	return v, err
}

func (h *Helper) noteRemaining(d time.Duration) {
	c := h.Caching
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remaining == 0 || d < c.remaining {
		c.remaining = d
	}
}

// Remaining is the shortest remaining lifetime of the credentials this
// helper served in this run, or 0 when it served none or none has a known
// lifetime. The cacheDuration suggested to the kubelet must not exceed it.
func (h *Helper) Remaining() time.Duration {
	if h.Caching == nil {
		return 0
	}
	h.Caching.mu.Lock()
	defer h.Caching.mu.Unlock()
	return h.Caching.remaining
}

// lifetime is how long a secret may be kept: ttl, or less when the secret
// is a JWT whose "exp" comes sooner. A JWT already expired gets 0.
func lifetime(secret string, ttl time.Duration, now time.Time) time.Duration {
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if scope.DecodeJWTClaims(secret, &claims) != nil || claims.Exp == "" {
		return ttl
	}
	exp, err := claims.Exp.Int64()
	if err != nil {
		return ttl
	}
	left := time.Unix(exp, 0).Sub(now)
	if left <= 0 {
		return 0
	}
	if ttl <= 0 || left < ttl {
		return left
	}
	return ttl
}

// computeFingerprint changes when the helper binary, its environment or a
// watched path changes.
func (h *Helper) computeFingerprint() string {
	sum := sha256.New()
	if p, err := exec.LookPath(h.Command()); err == nil {
		fmt.Fprintf(sum, "bin %s %s\n", p, statLine(p))
	}
	fmt.Fprintf(sum, "env %s\n", envHash(h.Env))
	for _, w := range h.Caching.Watch {
		n := 0
		_ = filepath.WalkDir(w, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(sum, "watch %s error\n", p)
				return nil
			}
			if n++; n > maxWatchEntries {
				return filepath.SkipAll
			}
			fmt.Fprintf(sum, "watch %s %s\n", p, statLine(p))
			return nil
		})
	}
	return hex.EncodeToString(sum.Sum(nil)[:16])
}

func statLine(p string) string {
	fi, err := os.Lstat(p)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d %d %o", fi.ModTime().UnixNano(), fi.Size(), fi.Mode())
}

// envHash names an environment without revealing it.
func envHash(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sum := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(sum, "%s=%s\x00", k, env[k])
	}
	return hex.EncodeToString(sum.Sum(nil)[:4])
}

// storedCredential is how a get answer is kept in the cache (in the kernel
// keyring, never on disk). An empty value means "not found".
type storedCredential struct {
	Username string `json:"u"`
	Secret   string `json:"s"`
}

var errBadCached = errors.New("unreadable cache entry")

func decodeStored(v []byte) (storedCredential, error) {
	var s storedCredential
	if err := json.Unmarshal(v, &s); err != nil {
		return s, errBadCached
	}
	return s, nil
}
