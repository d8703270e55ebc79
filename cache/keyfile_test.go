//go:build linux

package cache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The first store makes the key file: 0600, keySize bytes, and entries
// sealed with it are served.
func TestKeyFileMadeOnFirstStore(t *testing.T) {
	c, _ := openTest(t, Options{})
	if _, err := os.Stat(c.keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file before any store: %v", err)
	}
	f := &counter{value: []byte("s3cret"), ttl: time.Hour}
	c.Do(context.Background(), "k", "", f.fetch)
	fi, err := os.Stat(c.keyPath)
	if err != nil || fi.Mode() != 0o600 || fi.Size() != keySize {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if v, _, err := c.Do(context.Background(), "k", "", f.fetch); string(v) != "s3cret" || err != nil || f.n() != 1 {
		t.Fatalf("hit: %q %v, %d fetches", v, err, f.n())
	}
}

// Each way a key file can be unfit is a fault: one warning, every answer
// from fetch, nothing stored, nothing served that was sealed before, and the
// file left as it is for its owner to see.
func TestUnfitKeyFile(t *testing.T) {
	cases := map[string]func(t *testing.T, path string){
		"group-readable": func(t *testing.T, path string) { os.Chmod(path, 0o640) },
		"world-readable": func(t *testing.T, path string) { os.Chmod(path, 0o604) },
		"someone else's": func(t *testing.T, path string) {
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Skipf("chown: %v", err)
			}
		},
		"symbolic link": func(t *testing.T, path string) {
			real := filepath.Join(t.TempDir(), "key")
			b, _ := os.ReadFile(path)
			os.WriteFile(real, b, 0o600)
			os.Remove(path)
			os.Symlink(real, path)
		},
		"short": func(t *testing.T, path string) { os.Truncate(path, keySize-1) },
		"long":  func(t *testing.T, path string) { os.Truncate(path, keySize+1) },
		"empty": func(t *testing.T, path string) { os.Truncate(path, 0) },
		"a directory (unreadable as a file)": func(t *testing.T, path string) {
			os.Remove(path)
			os.Mkdir(path, 0o700)
		},
		"a FIFO": func(t *testing.T, path string) {
			os.Remove(path)
			if err := unix.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			var warnings []error
			c, ks := openTest(t, Options{Warn: func(err error) { warnings = append(warnings, err) }})
			good := &counter{value: []byte("sealed-before"), ttl: time.Hour}
			c.Do(context.Background(), "old", "", good.fetch)
			spoil(t, c.keyPath)
			before, _ := os.Lstat(c.keyPath)

			f := &counter{value: []byte("s3cret"), ttl: time.Hour}
			for i := 0; i < 3; i++ {
				if v, _, err := c.Do(context.Background(), "k", "", f.fetch); string(v) != "s3cret" || err != nil {
					t.Fatalf("%q %v", v, err)
				}
			}
			if v, _, _ := c.Do(context.Background(), "old", "", f.fetch); string(v) != "s3cret" {
				t.Errorf("served %q, sealed with a key now unfit", v)
			}
			if f.n() != 4 || len(warnings) != 1 {
				t.Fatalf("%d fetches, warnings %v", f.n(), warnings)
			}
			if !strings.Contains(warnings[0].Error(), c.keyPath) {
				t.Errorf("warning does not name the key file: %v", warnings[0])
			}
			t.Logf("warning: %v", warnings[0])
			if names, _ := ks.names(); len(names) != 1 {
				t.Errorf("entries stored without a fit key: %v", names)
			}
			if after, err := os.Lstat(c.keyPath); err != nil || !os.SameFile(before, after) || after.Mode() != before.Mode() || after.Size() != before.Size() {
				t.Errorf("key file changed: %v %v", after, err)
			}
			if _, err := c.List(); err == nil {
				t.Errorf("List with an unfit key file: no error")
			}
		})
	}
}

// A key file deleted (or replaced) makes the entries sealed with it misses;
// the next store makes a new key and is served.
func TestKeyFileRotated(t *testing.T) {
	var warnings []error
	c, _ := openTest(t, Options{Warn: func(err error) { warnings = append(warnings, err) }})
	f := &counter{value: []byte("v1"), ttl: time.Hour}
	c.Do(context.Background(), "k", "", f.fetch)
	old, _ := os.ReadFile(c.keyPath)
	os.Remove(c.keyPath)
	f.value = []byte("v2")
	if v, _, _ := c.Do(context.Background(), "k", "", f.fetch); string(v) != "v2" || f.n() != 2 {
		t.Fatalf("after removal: %q, %d fetches", v, f.n())
	}
	if v, _, _ := c.Do(context.Background(), "k", "", f.fetch); string(v) != "v2" || f.n() != 2 {
		t.Fatalf("not cached under the new key: %q, %d fetches", v, f.n())
	}
	if now, _ := os.ReadFile(c.keyPath); bytes.Equal(now, old) || len(now) != keySize {
		t.Errorf("key not renewed")
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
}

// Concurrent first creators agree on one key, and leave no temporary file.
func TestKeyFileConcurrentCreators(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, keyFileName)
	const n = 16
	keys := make([][keySize]byte, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := createKey(path); err != nil {
				t.Error(err)
				return
			}
			var err error
			if keys[i], _, err = loadKey(path); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatalf("creator %d holds another key", i)
		}
	}
	if d, _ := os.ReadDir(dir); len(d) != 1 {
		t.Errorf("left in the directory: %v", d)
	}
}

// The plain-text keyring of the version before sealing is destroyed when
// the sealed one is made, with whatever it held.
func TestLegacyKeyringDestroyed(t *testing.T) {
	dir := t.TempDir()
	legacy, err := addPrivate("keyring", legacyRingPrefix+dir, nil, 0)
	if err != nil {
		t.Fatalf("the kernel keyring is not usable here; the cache tests need it: %v", err)
	}
	if err := linkKey(legacy, unix.KEY_SPEC_USER_KEYRING); err != nil {
		t.Fatal(err)
	}
	unlinkKey(legacy, unix.KEY_SPEC_PROCESS_KEYRING)
	t.Cleanup(func() { invalidateKey(legacy) })
	if _, err := unix.AddKey("user", entryName("k"), []byte("plain s3cret"), legacy); err != nil {
		t.Fatal(err)
	}
	c, _ := openTest(t, Options{Dir: dir})
	c.Do(context.Background(), "k", "", (&counter{value: []byte("v"), ttl: time.Hour}).fetch)
	if id, _ := findKeyring(legacyRingPrefix + dir); id != 0 {
		t.Fatalf("legacy keyring %d still in @u", id)
	}
	if _, err := readKey(legacy, nil); err == nil {
		t.Fatalf("legacy keyring still readable")
	}
}

// A key rewritten in place (same file, new bytes) is read again at its next
// use: entries sealed with the old bytes are misses, never opened with them.
func TestKeyFileRewrittenInPlace(t *testing.T) {
	c, _ := openTest(t, Options{})
	f := &counter{value: []byte("v1"), ttl: time.Hour}
	c.Do(context.Background(), "k", "", f.fetch)
	before, _ := os.Stat(c.keyPath)
	if err := os.WriteFile(c.keyPath, bytes.Repeat([]byte{7}, keySize), 0o600); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(c.keyPath); !os.SameFile(before, after) {
		t.Fatal("not the same file")
	}
	f.value = []byte("v2")
	if v, _, _ := c.Do(context.Background(), "k", "", f.fetch); string(v) != "v2" || f.n() != 2 {
		t.Fatalf("after the rewrite: %q, %d fetches", v, f.n())
	}
	// The sealer in use opens what the new key seals.
	want, err := newSealer([keySize]byte(bytes.Repeat([]byte{7}, keySize)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sealed := want.seal("n", &entry{kind: kindValue, created: now, expires: now.Add(time.Hour), key: "k", data: []byte("v")})
	if s, _ := c.key(false); s == nil {
		t.Fatalf("new key not in use")
	} else if _, err := s.open("n", sealed); err != nil {
		t.Fatalf("new key not in use: %v", err)
	}
}
