package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
)

// Defaults for the zero Options.
const (
	DefaultDir         = "/var/lib/node-credential-provider/cache"
	DefaultMaxEntries  = 512
	DefaultLockTimeout = 10 * time.Second
	DefaultNegativeTTL = 5 * time.Second
)

// ErrCachedFailure marks an error that a fetch returned recently, in this or
// another process, and that is being repeated instead of fetching again.
var ErrCachedFailure = errors.New("cached failure")

// Options configure a Cache. The zero value is usable.
type Options struct {
	// Dir holds the lock files and the key that seals the entries, and names
	// the cache: two Dirs are two caches. "" means DefaultDir. It is created
	// 0700 when missing. Whoever can read it can open the entries.
	Dir string
	// MaxEntries bounds the entries kept; a store beyond it first drops
	// expired entries, then the oldest. 0 means DefaultMaxEntries.
	MaxEntries int
	// LockTimeout bounds the wait for another process fetching the same key.
	// When it passes, the caller fetches on its own. 0 means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// NegativeTTL is how long a failed or empty fetch is remembered, so that
	// a burst does not repeat it, yet a credential added to the source works
	// within seconds. 0 means DefaultNegativeTTL; negative disables it.
	NegativeTTL time.Duration
	// Warn is called at most once per Cache, the first time it cannot cache
	// (no kernel keyring, an unusable Dir or key file, a lock not had in
	// time, a value too large). Answers still come, from fetch. Never
	// contains a secret.
	Warn func(error)

	now       func() time.Time                                                      // tests
	openStore func(ringDesc string, lockRing func() (func(), error)) (store, error) // tests
}

// Fetch resolves a key when the cache cannot answer. ttl is how long value
// may be served; a cache never keeps it longer. An error or an empty value is
// remembered for the negative TTL instead.
type Fetch func() (value []byte, ttl time.Duration, err error)

// EntryInfo describes an entry without its value.
type EntryInfo struct {
	Key     string
	Created time.Time
	Expires time.Time
	// Size of the value in bytes; 0 for a remembered failure or empty lookup.
	Size int
	// Negative is set for a remembered failure or empty lookup.
	Negative bool
}

// Cache is a node-local cache shared by every process of the same uid that
// opens the same Dir. It is safe for concurrent use.
type Cache struct {
	opts    Options
	dir     string
	keyPath string
	store   store // nil when the kernel keyring is unusable

	// sealer is the last key's, reused while the key file holds that key.
	sealer atomic.Pointer[sealer]

	mu      sync.Mutex
	dirErr  error // set once Dir proved unusable; misses then skip locking
	dirOK   bool
	warned  bool
	warning error
}

// Names of the cache's keyring in @u: ringPrefix plus the absolute Dir. The
// legacy keyring held plain-text values (before sealing); making the sealed
// one destroys it.
const (
	ringPrefix       = "node-credential-provider:sealed:"
	legacyRingPrefix = "node-credential-provider:"
)

// keyFileName is the key file in Dir; keyTempInfix marks a key being made.
const (
	keyFileName  = "cache.key"
	keyTempInfix = ".tmp-"
)

// errNoKey: Dir has no key file yet. The first store makes one.
var errNoKey = errors.New("no key file yet")

// Open returns a cache. It fails for invalid options, and on systems other
// than Linux, which have no cache. When the kernel keyring is unavailable
// (containers often forbid keyctl) the cache is off, Do calls fetch every
// time, and Warn is told once.
func Open(opts Options) (*Cache, error) {
	if err := platformErr(); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if opts.MaxEntries < 0 {
		return nil, fmt.Errorf("cache: MaxEntries %d is negative", opts.MaxEntries)
	}
	if opts.LockTimeout < 0 {
		return nil, fmt.Errorf("cache: LockTimeout %s is negative", opts.LockTimeout)
	}
	if opts.Dir == "" {
		opts.Dir = DefaultDir
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.NegativeTTL == 0 {
		opts.NegativeTTL = DefaultNegativeTTL
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{opts: opts, dir: dir, keyPath: filepath.Join(dir, keyFileName)}
	// The keyring's name carries the directory so that caches in different
	// directories (tests, a second provider config) never share entries.
	if opts.openStore == nil {
		opts.openStore = newKernelStore
	}
	s, err := opts.openStore(ringPrefix+dir, c.lockRing)
	if err != nil {
		c.warn(fmt.Errorf("credential cache off: %w", err))
		return c, nil
	}
	c.store = s
	return c, nil
}

// Warning returns what made the cache fall back to fetching, nil if nothing.
func (c *Cache) Warning() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.warning
}

func (c *Cache) warn(err error) {
	c.mu.Lock()
	first := !c.warned
	c.warned = true
	if first {
		c.warning = err
	}
	c.mu.Unlock()
	if first && c.opts.Warn != nil {
		c.opts.Warn(err)
	}
}

// Do returns key's value: from the cache when an entry with this fingerprint
// is live, else from fetch, which runs once across all processes asking for
// key at the same time; the others wait for its result. ttl is how long the
// value remains valid from now: cap any lifetime derived from it (such as the
// kubelet's cacheDuration) by it.
//
// When fetch runs for this call, its results are returned unchanged. From the
// cache, a remembered failure is an error wrapping ErrCachedFailure (with the
// original message) and a remembered empty lookup a nil value and nil error;
// ttl is then what remains of the negative TTL.
//
// The wait for another process's fetch of key ends at the lock timeout or
// when ctx is done, whichever comes first (the run's deadline bounds it);
// fetch then runs here.
func (c *Cache) Do(ctx context.Context, key, fingerprint string, fetch Fetch) (value []byte, ttl time.Duration, err error) {
	if c.store == nil {
		return fetch()
	}
	name := entryName(key)
	// No key file yet means nothing can be stored: a miss. Any other fault
	// of the key file turns the cache off; nothing is stored without a seal.
	s, kerr := c.key(false)
	if kerr != nil && !errors.Is(kerr, errNoKey) {
		c.warn(fmt.Errorf("credential cache off: %w", kerr))
		return fetch()
	}
	if s != nil {
		if v, ttl, err, ok := c.lookup(s, name, key, fingerprint); ok {
			return v, ttl, err
		}
	}
	unlock, lerr := c.lockKey(ctx, name)
	if lerr != nil {
		c.warn(fmt.Errorf("credential cache skipped for %q: %w", key, lerr))
		return fetch()
	}
	defer unlock()
	// Whoever held the lock before us has probably just stored the answer,
	// maybe under a key file it has just made.
	if s, kerr = c.key(true); kerr != nil {
		c.warn(fmt.Errorf("credential cache off: %w", kerr))
		return fetch()
	}
	if v, ttl, err, ok := c.lookup(s, name, key, fingerprint); ok {
		return v, ttl, err
	}
	value, ttl, err = fetch()
	c.keep(s, name, key, fingerprint, value, ttl, err)
	return value, ttl, err
}

// key returns the sealer of the key in Dir, checking the key file first
// (loadKey). With create it makes the key file when there is none, which
// needs Dir; errNoKey otherwise.
func (c *Cache) key(create bool) (*sealer, error) {
	st, err := keyFileState(c.keyPath)
	if errors.Is(err, errNoKey) && create {
		if err = c.prepareDir(); err == nil {
			if err = createKey(c.keyPath); err == nil {
				st, err = keyFileState(c.keyPath)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if s := c.sealer.Load(); s != nil && s.file == st {
		return s, nil
	}
	k, st, err := loadKey(c.keyPath)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(k)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", c.keyPath, err)
	}
	s.file = st
	c.sealer.Store(s)
	return s, nil
}

// lookup serves a live entry for key and fingerprint; ok is false on a miss.
// Foreign, damaged, tampered, stale and future-dated entries, and entries
// sealed with another key, are misses: the fetch that follows replaces them.
func (c *Cache) lookup(s *sealer, name, key, fingerprint string) (value []byte, ttl time.Duration, err error, ok bool) {
	b, rerr := c.store.read(name)
	if rerr != nil {
		if !errors.Is(rerr, errMiss) {
			c.warn(fmt.Errorf("credential cache: %w", rerr))
		}
		return nil, 0, nil, false
	}
	e, derr := s.open(name, b)
	now := c.opts.now()
	// An entry created "after now" means the clock went back: its expiry
	// cannot be trusted.
	if derr != nil || e.key != key || e.fingerprint != fingerprint || now.Before(e.created) || !now.Before(e.expires) {
		return nil, 0, nil, false
	}
	ttl = e.expires.Sub(now)
	switch e.kind {
	case kindValue:
		return e.data, ttl, nil, true
	case kindFailure:
		return nil, ttl, fmt.Errorf("%s (%w, retried in %s)", e.data, ErrCachedFailure, ttl.Round(time.Second)), true
	}
	return nil, ttl, nil, true
}

// keep stores what fetch returned. Failing to store costs only a later
// fetch, so it is a warning, never an error.
func (c *Cache) keep(s *sealer, name, key, fingerprint string, value []byte, ttl time.Duration, ferr error) {
	now := c.opts.now()
	e := entry{kind: kindValue, created: now, key: key, fingerprint: fingerprint, data: value}
	if ferr != nil || len(value) == 0 {
		if c.opts.NegativeTTL < 0 {
			return
		}
		if ttl <= 0 || ttl > c.opts.NegativeTTL {
			ttl = c.opts.NegativeTTL
		}
		e.kind, e.data = kindEmpty, nil
		if ferr != nil {
			e.kind, e.data = kindFailure, []byte(shorten.Cut(ferr.Error(), maxFailureText))
		}
	}
	if ttl < time.Second {
		return // the kernel's timeout has whole seconds; see kernelStore.write
	}
	e.expires = now.Add(ttl)
	payload := s.seal(name, &e)
	if len(payload) > maxPayload {
		c.warn(fmt.Errorf("credential cache: value for %q is %d bytes, more than the %d a cache entry holds", key, len(value), maxPayload-(len(payload)-len(value))))
		return
	}
	c.evict(s, name)
	if err := c.store.write(name, payload, ttl); err != nil {
		c.warn(fmt.Errorf("credential cache: storing %q: %w", key, err))
	}
}

// evict makes room for one entry other than keep: expired and unreadable
// entries go first, then the oldest. Concurrent stores may overshoot
// MaxEntries by their number until the next store.
func (c *Cache) evict(s *sealer, keep string) {
	names, err := c.store.names()
	if err != nil || len(names) < c.opts.MaxEntries {
		c.sweepLocks(len(names))
		return
	}
	type aged struct {
		name    string
		created time.Time
	}
	var live []aged
	now := c.opts.now()
	for _, n := range names {
		if n == keep {
			continue // about to be replaced
		}
		b, err := c.store.read(n)
		if err != nil {
			continue
		}
		e, err := s.open(n, b)
		if err != nil || entryName(e.key) != n || !now.Before(e.expires) {
			c.drop(n)
			continue
		}
		live = append(live, aged{n, e.created})
	}
	sort.Slice(live, func(i, j int) bool { return live[i].created.Before(live[j].created) })
	for i := 0; i < len(live)-(c.opts.MaxEntries-1); i++ {
		c.drop(live[i].name)
	}
	c.sweepLocks(0)
}

func (c *Cache) drop(name string) {
	c.store.remove(name)
	removeLock(filepath.Join(c.dir, name+".lock"))
}

// sweepLocks removes idle lock files of entries that are gone, once there are
// more lock files than entries allowed, so Dir stays bounded too; and key
// files that a process killed while making them left behind.
func (c *Cache) sweepLocks(entries int) {
	d, err := os.ReadDir(c.dir)
	if err != nil || len(d) <= c.opts.MaxEntries && entries < c.opts.MaxEntries {
		return
	}
	for _, f := range d {
		if strings.HasPrefix(f.Name(), keyFileName+keyTempInfix) {
			if fi, err := f.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
				os.Remove(filepath.Join(c.dir, f.Name()))
			}
			continue
		}
		name, ok := strings.CutSuffix(f.Name(), ".lock")
		if !ok || name == ringLockName {
			continue
		}
		if _, err := c.store.read(name); errors.Is(err, errMiss) {
			removeLock(filepath.Join(c.dir, f.Name()))
		}
	}
}

const ringLockName = "keyring"

func (c *Cache) lockKey(ctx context.Context, name string) (func(), error) {
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	return lockFile(ctx, filepath.Join(c.dir, name+".lock"), c.opts.LockTimeout)
}

func (c *Cache) lockRing() (func(), error) {
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	// Held only while the keyring is made, never across a fetch.
	return lockFile(context.Background(), filepath.Join(c.dir, ringLockName+".lock"), c.opts.LockTimeout)
}

// prepareDir makes Dir owner-only on first use. A hit never needs it.
func (c *Cache) prepareDir() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirOK || c.dirErr != nil {
		return c.dirErr
	}
	c.dirErr = ensurePrivateDir(c.dir)
	c.dirOK = c.dirErr == nil
	return c.dirErr
}

// openKey is the sealer for List and Purge: nil when there is no key file
// yet (then no entry opens), an error when the key file is unusable.
func (c *Cache) openKey() (*sealer, error) {
	s, err := c.key(false)
	if errors.Is(err, errNoKey) {
		return nil, nil
	}
	return s, err
}

// openOrMiss is s.open, and a miss without a key.
func (s *sealer) openOrMiss(name string, b []byte) (entry, error) {
	if s == nil {
		return entry{}, errSealed
	}
	return s.open(name, b)
}

// List describes the entries, oldest first, never their values. Damaged and
// foreign entries, and those sealed with another key, are left out.
func (c *Cache) List() ([]EntryInfo, error) {
	if c.store == nil {
		return nil, c.Warning()
	}
	s, err := c.openKey()
	if err != nil {
		return nil, err
	}
	names, err := c.store.names()
	if err != nil {
		return nil, err
	}
	var out []EntryInfo
	for _, n := range names {
		b, err := c.store.read(n)
		if err != nil {
			continue
		}
		e, err := s.openOrMiss(n, b)
		if err != nil || entryName(e.key) != n {
			continue
		}
		info := EntryInfo{Key: e.key, Created: e.created, Expires: e.expires, Negative: e.kind != kindValue}
		if e.kind == kindValue {
			info.Size = len(e.data)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// Purge removes the entries whose key match accepts, and any damaged or
// foreign entry or one sealed with another key, and returns how many it
// removed. Purge(func(string) bool { return true }) empties the cache. With
// no usable key file no entry can be served, so every entry goes.
func (c *Cache) Purge(match func(key string) bool) (int, error) {
	if c.store == nil {
		return 0, c.Warning()
	}
	s, _ := c.openKey()
	names, err := c.store.names()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, name := range names {
		b, err := c.store.read(name)
		if errors.Is(err, errMiss) {
			continue
		}
		if err == nil {
			e, derr := s.openOrMiss(name, b)
			if derr == nil && entryName(e.key) == name && !match(e.key) {
				continue
			}
		}
		if err := c.store.remove(name); err != nil {
			errs = append(errs, err)
			continue
		}
		removeLock(filepath.Join(c.dir, name+".lock"))
		n++
	}
	return n, errors.Join(errs...)
}

// Destroy removes every entry and the cache's keyring itself, so that
// nothing of this cache is left in the user keyring.
func (c *Cache) Destroy() error {
	if c.store == nil {
		return c.Warning()
	}
	if d, ok := c.store.(interface{ destroy() error }); ok {
		return d.destroy()
	}
	_, err := c.Purge(func(string) bool { return true })
	return err
}
