//go:build linux

package cache

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clock is a settable time source; entries then expire without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openTest opens a cache in a fresh directory, with its own keyring that is
// destroyed when the test ends. It skips when the kernel keyring is not
// available here.
func openTest(t testing.TB, opts Options) (*Cache, *kernelStore) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	var ks *kernelStore
	inner := opts.openStore
	opts.openStore = func(desc string, lock func() (func(), error)) (store, error) {
		s, err := newKernelStore(desc, lock)
		if err != nil {
			return nil, err
		}
		ks = s.(*kernelStore)
		if inner != nil {
			return inner(desc, lock)
		}
		return s, nil
	}
	c, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if ks == nil {
		t.Fatalf("the kernel keyring is not usable here (keyctl refused: a container without it?); the cache tests need it: %v", c.Warning())
	}
	t.Cleanup(func() { ks.destroy() })
	return c, ks
}

// counter is a fetch that counts its calls.
type counter struct {
	mu    sync.Mutex
	calls int
	value []byte
	ttl   time.Duration
	err   error
}

func (f *counter) fetch() ([]byte, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.value, f.ttl, f.err
}

func (f *counter) n() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

func TestDo(t *testing.T) {
	clk := &clock{t: time.Now()}
	c, _ := openTest(t, Options{now: clk.now})
	f := &counter{value: []byte(`{"username":"u","password":"s3cret"}`), ttl: time.Minute}

	v, ttl, err := c.Do(context.Background(), "helper:pass|get|r.example", "fp1", f.fetch)
	if err != nil || string(v) != string(f.value) || ttl != time.Minute || f.n() != 1 {
		t.Fatalf("miss: %q %v %v, %d fetches", v, ttl, err, f.n())
	}
	clk.add(20 * time.Second)
	v, ttl, err = c.Do(context.Background(), "helper:pass|get|r.example", "fp1", f.fetch)
	if err != nil || string(v) != string(f.value) || ttl != 40*time.Second || f.n() != 1 {
		t.Fatalf("hit: %q %v %v, %d fetches", v, ttl, err, f.n())
	}
	// A changed source is never answered from the old entry.
	if _, _, _ = c.Do(context.Background(), "helper:pass|get|r.example", "fp2", f.fetch); f.n() != 2 {
		t.Fatalf("changed fingerprint served from cache")
	}
	if _, _, _ = c.Do(context.Background(), "helper:pass|get|other.example", "fp2", f.fetch); f.n() != 3 {
		t.Fatalf("other key served from cache")
	}
	clk.add(time.Minute)
	if _, _, _ = c.Do(context.Background(), "helper:pass|get|r.example", "fp2", f.fetch); f.n() != 4 {
		t.Fatalf("expired entry served")
	}
	// A clock that went back cannot vouch for an entry's age.
	clk.add(-2 * time.Minute)
	if _, _, _ = c.Do(context.Background(), "helper:pass|get|r.example", "fp2", f.fetch); f.n() != 5 {
		t.Fatalf("entry from the future served")
	}
	if w := c.Warning(); w != nil {
		t.Errorf("warning: %v", w)
	}
}

func TestDoNegative(t *testing.T) {
	boom := errors.New("helper pass exited 1: not in store")
	for _, tc := range []struct {
		name        string
		value       []byte
		err         error
		negativeTTL time.Duration
		wantCached  bool
	}{
		{"failure", nil, boom, 0, true},
		{"empty", nil, nil, 0, true},
		{"empty slice", []byte{}, nil, 0, true},
		{"disabled", nil, boom, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			c, _ := openTest(t, Options{now: clk.now, NegativeTTL: tc.negativeTTL})
			f := &counter{value: tc.value, err: tc.err, ttl: time.Hour}
			if _, _, err := c.Do(context.Background(), "k", "fp", f.fetch); err != tc.err {
				t.Fatalf("first: %v", err)
			}
			v, ttl, err := c.Do(context.Background(), "k", "fp", f.fetch)
			if !tc.wantCached {
				if f.n() != 2 {
					t.Fatalf("negative entry kept although disabled")
				}
				return
			}
			if f.n() != 1 || v != nil || ttl != DefaultNegativeTTL {
				t.Fatalf("second: %q %v %v, %d fetches", v, ttl, err, f.n())
			}
			if tc.err != nil && (!errors.Is(err, ErrCachedFailure) || !strings.Contains(err.Error(), boom.Error())) {
				t.Fatalf("remembered failure: %v", err)
			}
			if tc.err == nil && err != nil {
				t.Fatalf("remembered empty: %v", err)
			}
			// A credential added to the source works within the negative TTL,
			// however long fetch said.
			clk.add(DefaultNegativeTTL)
			if c.Do(context.Background(), "k", "fp", f.fetch); f.n() != 2 {
				t.Fatalf("negative entry outlived NegativeTTL")
			}
		})
	}
}

// The kernel drops an entry no later than its TTL, rounded down to seconds,
// and a TTL under a second is not stored at all.
func TestKernelTimeoutWithinTTL(t *testing.T) {
	c, ks := openTest(t, Options{})
	f := &counter{value: []byte("v"), ttl: 1500 * time.Millisecond}
	c.Do(context.Background(), "short", "", f.fetch)
	if _, err := ks.read(entryName("short")); err != nil {
		t.Fatalf("not stored: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := ks.read(entryName("short")); !errors.Is(err, errMiss) {
		t.Fatalf("kernel kept the key past its timeout: %v", err)
	}
	f.ttl = 900 * time.Millisecond
	c.Do(context.Background(), "shorter", "", f.fetch)
	if _, err := ks.read(entryName("shorter")); !errors.Is(err, errMiss) {
		t.Fatalf("sub-second TTL stored: %v", err)
	}
	f.ttl = 0
	if v, ttl, _ := c.Do(context.Background(), "zero", "", f.fetch); string(v) != "v" || ttl != 0 {
		t.Fatalf("zero TTL: %q %v", v, ttl)
	}
	if _, err := ks.read(entryName("zero")); !errors.Is(err, errMiss) {
		t.Fatalf("zero TTL stored: %v", err)
	}
}

// A damaged, truncated, tampered, swapped or foreign entry is a miss, and
// the fetch replaces it.
func TestDamagedEntryIsReplaced(t *testing.T) {
	now := time.Now()
	good := entry{kind: kindValue, created: now, expires: now.Add(time.Hour), key: "k", fingerprint: "fp", data: []byte("old")}
	foreignKey := good
	foreignKey.key = "someone else"
	other := good
	other.key = "k2"
	for name, payload := range map[string]func(s *sealer) []byte{
		"garbage":   func(*sealer) []byte { return []byte("not ours at all") },
		"truncated": func(s *sealer) []byte { p := s.seal(entryName("k"), &good); return p[:len(p)-4] },
		// What the version before sealing kept, in plain text.
		"legacy plain text": func(*sealer) []byte {
			return append([]byte("ncpc\x02\x01"), good.encode(nil, 0)[1:]...)
		},
		"foreign key":      func(s *sealer) []byte { return s.seal(entryName("k"), &foreignKey) },
		"sealed elsewhere": func(*sealer) []byte { return testSealer(t, 7).seal(entryName("k"), &good) },
		"swapped in":       func(s *sealer) []byte { return s.seal(entryName("k2"), &other) },
		"damaged value": func(s *sealer) []byte {
			b := s.seal(entryName("k"), &good)
			b[len(b)-17] ^= 0x20 // the value's last byte, before the tag
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, ks := openTest(t, Options{})
			s, err := c.key(true)
			if err != nil {
				t.Fatal(err)
			}
			if err := ks.write(entryName("k"), payload(s), time.Hour); err != nil {
				t.Fatal(err)
			}
			f := &counter{value: []byte("new"), ttl: time.Hour}
			v, _, err := c.Do(context.Background(), "k", "fp", f.fetch)
			if string(v) != "new" || err != nil || f.n() != 1 {
				t.Fatalf("got %q %v after %d fetches", v, err, f.n())
			}
			if v, _, _ := c.Do(context.Background(), "k", "fp", f.fetch); string(v) != "new" || f.n() != 1 {
				t.Fatalf("not replaced: %q, %d fetches", v, f.n())
			}
			if c.Warning() != nil {
				t.Errorf("a damaged entry is a miss, not a warning: %v", c.Warning())
			}
		})
	}
}

// Without the kernel keyring (EPERM under a container's seccomp profile,
// ENOSYS on old kernels) there is no cache, never a plain-text one.
func TestNoKeyringMeansNoCache(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.ENOSYS} {
		dir := filepath.Join(t.TempDir(), "cache")
		var warnings []error
		c, err := Open(Options{Dir: dir, Warn: func(err error) { warnings = append(warnings, err) },
			openStore: func(string, func() (func(), error)) (store, error) {
				return nil, fmt.Errorf("kernel keyring unavailable: %w", errno)
			}})
		if err != nil {
			t.Fatal(err)
		}
		f := &counter{value: []byte("s3cret"), ttl: time.Hour}
		for i := 0; i < 3; i++ {
			if v, ttl, err := c.Do(context.Background(), "k", "fp", f.fetch); string(v) != "s3cret" || ttl != time.Hour || err != nil {
				t.Fatalf("%v: %q %v %v", errno, v, ttl, err)
			}
		}
		if f.n() != 3 || len(warnings) != 1 || !errors.Is(warnings[0], errno) {
			t.Fatalf("%v: %d fetches, warnings %v", errno, f.n(), warnings)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v: cache dir written without a keyring: %v", errno, err)
		}
		if _, err := c.List(); err == nil {
			t.Errorf("List without keyring: no error")
		}
	}
}

// faultyStore fails writes the way a full kernel quota does.
type faultyStore struct {
	store
	err error
}

func (s faultyStore) write(string, []byte, time.Duration) error { return s.err }

func TestStoreFailureWarnsOnce(t *testing.T) {
	var warnings []error
	c, _ := openTest(t, Options{Warn: func(err error) { warnings = append(warnings, err) },
		openStore: func(desc string, lock func() (func(), error)) (store, error) {
			s, err := newKernelStore(desc, lock)
			return faultyStore{s, fmt.Errorf("add_key user: %w", syscall.EDQUOT)}, err
		}})
	f := &counter{value: []byte("s3cret"), ttl: time.Hour}
	for i := 0; i < 3; i++ {
		if v, _, err := c.Do(context.Background(), "k", "", f.fetch); string(v) != "s3cret" || err != nil {
			t.Fatalf("%q %v", v, err)
		}
	}
	if f.n() != 3 || len(warnings) != 1 || !errors.Is(warnings[0], syscall.EDQUOT) {
		t.Fatalf("%d fetches, warnings %v", f.n(), warnings)
	}
	if strings.Contains(warnings[0].Error(), "s3cret") {
		t.Fatalf("warning holds the secret: %v", warnings[0])
	}
}

// An unusable cache directory costs the cache, never the answer.
func TestUnusableDir(t *testing.T) {
	cases := map[string]func(t *testing.T) string{
		"file where a dir is expected": func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "cache")
			os.WriteFile(p, nil, 0o600)
			return p
		},
		"parent is a file": func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, nil, 0o600)
			return filepath.Join(p, "cache")
		},
		"owned by someone else": func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "cache")
			os.Mkdir(p, 0o700)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Skipf("chown: %v", err)
			}
			return p
		},
		// Root ignores permission bits, so read-only and full are real
		// mounts; both need CAP_SYS_ADMIN.
		"read-only filesystem": func(t *testing.T) string { return mountTmpfs(t, syscall.MS_RDONLY, "size=64k") },
		"full filesystem":      func(t *testing.T) string { return mountTmpfs(t, 0, "size=4k,nr_inodes=1") },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			dir := mk(t)
			var warnings []error
			c, ks := openTest(t, Options{Dir: dir, Warn: func(err error) { warnings = append(warnings, err) }})
			f := &counter{value: []byte("s3cret"), ttl: time.Hour}
			for i := 0; i < 3; i++ {
				if v, _, err := c.Do(context.Background(), "k", "", f.fetch); string(v) != "s3cret" || err != nil {
					t.Fatalf("%q %v", v, err)
				}
			}
			if f.n() != 3 || len(warnings) != 1 {
				t.Fatalf("%d fetches, warnings %v", f.n(), warnings)
			}
			// No directory, no key file: nothing may be stored, sealed or not.
			if names, _ := ks.names(); len(names) != 0 {
				t.Errorf("stored without a key file: %v", names)
			}
			t.Logf("warning: %v", warnings[0])
		})
	}
}

func mountTmpfs(t *testing.T, flags uintptr, data string) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, data+",mode=0700"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

func TestLockTimeoutFetchesDirectly(t *testing.T) {
	var warnings []error
	c, _ := openTest(t, Options{LockTimeout: 50 * time.Millisecond, Warn: func(err error) { warnings = append(warnings, err) }})
	// Another process is fetching "k" and takes too long.
	unlock, err := c.lockKey(context.Background(), entryName("k"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	f := &counter{value: []byte("s3cret"), ttl: time.Hour}
	start := time.Now()
	for i := 0; i < 2; i++ {
		if v, _, err := c.Do(context.Background(), "k", "", f.fetch); string(v) != "s3cret" || err != nil {
			t.Fatalf("%q %v", v, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second { // two 50ms waits; loose for loaded machines
		t.Errorf("took %v", d)
	}
	if f.n() != 2 || len(warnings) != 1 || !errors.Is(warnings[0], errLockTimeout) {
		t.Fatalf("%d fetches, warnings %v", f.n(), warnings)
	}
}

// State on disk is owner-only and never holds a credential, in plain text
// or base64: lock files are empty, and the key file holds only the key.
func TestDiskHoldsNoSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	os.Mkdir(dir, 0o755)
	c, ks := openTest(t, Options{Dir: dir})
	secret := []byte(`{"username":"robot","password":"s3cret-Zq9"}`)
	for i := 0; i < 5; i++ {
		c.Do(context.Background(), fmt.Sprint("k", i), "", (&counter{value: secret, ttl: time.Hour}).fetch)
	}
	c.Do(context.Background(), "failing", "", (&counter{err: errors.New("helper said s3cret-Zq9")}).fetch)
	forms := secretForms(secret, []byte("s3cret-Zq9"))
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v", p, fi.Mode())
		}
		if d.IsDir() {
			return nil
		}
		files++
		b, _ := os.ReadFile(p)
		if p == c.keyPath {
			if len(b) != keySize {
				t.Errorf("key file holds %d bytes", len(b))
			}
		} else if len(b) != 0 {
			t.Errorf("%s holds %d bytes, want an empty lock file", p, len(b))
		}
		for _, f := range forms {
			if bytes.Contains(b, f) {
				t.Errorf("%s holds %q", p, f)
			}
		}
		return nil
	})
	if files != 8 { // the key, the keyring's lock and six entry locks
		t.Errorf("%d files in %s", files, dir)
	}
	// And what the kernel keeps is sealed: what a reader of @u sees.
	names, _ := ks.names()
	for _, n := range names {
		b, err := ks.read(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forms {
			if bytes.Contains(b, f) {
				t.Errorf("kernel key %s holds %q", n, f)
			}
		}
	}
	if len(names) != 6 {
		t.Errorf("%d entries", len(names))
	}
}

// secretForms is every way a secret must never be seen: plain and base64 (in
// each of the three alignments base64 may cut it at).
func secretForms(secrets ...[]byte) [][]byte {
	var out [][]byte
	for _, s := range secrets {
		out = append(out, s)
		for pad := 0; pad < 3; pad++ {
			// The secret at each offset mod 3 in an encoded stream: keep the
			// groups of 3 bytes that hold only secret bytes.
			enc := base64.StdEncoding.EncodeToString(append(make([]byte, pad), s...))
			lo, hi := 4*((pad+2)/3), 4*((pad+len(s))/3)
			out = append(out, []byte(enc[lo:hi]))
		}
	}
	return out
}

func TestMaxEntries(t *testing.T) {
	clk := &clock{t: time.Now()}
	c, _ := openTest(t, Options{MaxEntries: 3, now: clk.now})
	for i := 0; i < 6; i++ {
		clk.add(time.Second)
		c.Do(context.Background(), fmt.Sprint("k", i), "", (&counter{value: []byte("v"), ttl: time.Hour}).fetch)
	}
	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range list {
		keys = append(keys, e.Key)
	}
	if strings.Join(keys, ",") != "k3,k4,k5" {
		t.Fatalf("kept %v, want the newest three", keys)
	}
	// Expired entries go before live ones, whatever their age.
	c.Do(context.Background(), "short", "", (&counter{value: []byte("v"), ttl: 2 * time.Second}).fetch)
	clk.add(3 * time.Second)
	c.Do(context.Background(), "k6", "", (&counter{value: []byte("v"), ttl: time.Hour}).fetch)
	list, _ = c.List()
	keys = keys[:0]
	for _, e := range list {
		keys = append(keys, e.Key)
	}
	if strings.Join(keys, ",") != "k4,k5,k6" {
		t.Fatalf("kept %v", keys)
	}
	locks, _ := filepath.Glob(filepath.Join(c.dir, "*.lock"))
	if len(locks) > 3+1 {
		t.Errorf("%d lock files for at most 3 entries: %v", len(locks), locks)
	}
}

func TestListAndPurge(t *testing.T) {
	clk := &clock{t: time.Unix(1700000000, 0)}
	c, ks := openTest(t, Options{now: clk.now})
	c.Do(context.Background(), "helper:pass|get|a.example", "", (&counter{value: []byte("12345"), ttl: time.Hour}).fetch)
	clk.add(time.Second)
	c.Do(context.Background(), "helper:pass|get|b.example", "", (&counter{err: errors.New("nope")}).fetch)
	clk.add(time.Second)
	c.Do(context.Background(), "file:/etc/x", "", (&counter{value: []byte("1"), ttl: time.Minute}).fetch)
	ks.write(entryName("junk"), []byte("junk"), time.Hour)

	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	want := []EntryInfo{
		{Key: "helper:pass|get|a.example", Created: t0, Expires: t0.Add(time.Hour), Size: 5},
		{Key: "helper:pass|get|b.example", Created: t0.Add(time.Second), Expires: t0.Add(time.Second + DefaultNegativeTTL), Negative: true},
		{Key: "file:/etc/x", Created: t0.Add(2 * time.Second), Expires: t0.Add(2*time.Second + time.Minute), Size: 1},
	}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Fatalf("List:\n got %v\nwant %v", list, want)
	}
	n, err := c.Purge(func(k string) bool { return strings.HasPrefix(k, "helper:") })
	if err != nil || n != 3 { // two helpers and the junk
		t.Fatalf("Purge: %d %v", n, err)
	}
	list, _ = c.List()
	if len(list) != 1 || list[0].Key != "file:/etc/x" {
		t.Fatalf("after Purge: %v", list)
	}
	if _, err := os.Stat(filepath.Join(c.dir, entryName("helper:pass|get|a.example")+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("purged entry's lock file kept: %v", err)
	}
	f := &counter{value: []byte("v"), ttl: time.Hour}
	if c.Do(context.Background(), "helper:pass|get|a.example", "", f.fetch); f.n() != 1 {
		t.Errorf("purged entry served")
	}
}

func TestOpenOptions(t *testing.T) {
	for _, o := range []Options{{MaxEntries: -1}, {LockTimeout: -time.Second}} {
		if _, err := Open(o); err == nil {
			t.Errorf("Open(%+v) accepted", o)
		}
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	c, _ := openTest(t, Options{})
	f := &counter{value: []byte("v"), ttl: time.Hour}
	slow := func() ([]byte, time.Duration, error) { time.Sleep(50 * time.Millisecond); return f.fetch() }
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, _, err := c.Do(context.Background(), "k", "", slow); string(v) != "v" || err != nil {
				t.Errorf("%q %v", v, err)
			}
		}()
	}
	wg.Wait()
	if f.n() != 1 {
		t.Fatalf("%d fetches", f.n())
	}
}

func TestDestroyRemovesTheKeyring(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Warning() != nil {
		t.Fatalf("the kernel keyring is not usable here; the cache tests need it: %v", c.Warning())
	}
	if _, _, err := c.Do(context.Background(), "k", "fp", func() ([]byte, time.Duration, error) { return []byte("v"), time.Minute, nil }); err != nil {
		t.Fatal(err)
	}
	ks := c.store.(*kernelStore)
	if ring, err := ks.findRing(); err != nil || ring == 0 {
		t.Fatalf("no keyring after a store: %v", err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	fresh := &kernelStore{desc: ks.desc}
	if ring, _ := fresh.findRing(); ring != 0 {
		t.Errorf("keyring %d still linked after Destroy", ring)
	}
}
