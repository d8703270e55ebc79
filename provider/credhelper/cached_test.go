package credhelper

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// memCache is a Cacher in memory, with the fingerprint rule of the real one.
type memCache struct {
	mu      sync.Mutex
	entries map[string]memEntry
	fetches int
}

type memEntry struct {
	fp  string
	v   []byte
	ttl time.Duration
}

func (m *memCache) Do(_ context.Context, key, fp string, fetch func() ([]byte, time.Duration, error)) ([]byte, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string]memEntry{}
	}
	if e, ok := m.entries[key]; ok && e.fp == fp {
		return e.v, e.ttl, nil
	}
	m.fetches++
	v, ttl, err := fetch()
	if err == nil && len(v) > 0 && ttl > 0 {
		m.entries[key] = memEntry{fp, v, ttl}
	}
	return v, ttl, err
}

func jwtWithExp(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"exp":%d}`, exp.Unix()))) + ".sig"
}

func getReply(user, secret string) reply {
	return reply{out: fmt.Sprintf(`{"ServerURL":"r.io","Username":%q,"Secret":%q}`, user, secret)}
}

func TestCachedGet(t *testing.T) {
	f := &fake{get: map[string]reply{"r.io": getReply("u", "s1")}}
	mc := &memCache{}
	watched := filepath.Join(t.TempDir(), "store")
	if err := os.WriteFile(watched, []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	newHelper := func() *Helper {
		return &Helper{Name: "fake", Program: f.program, Caching: &Caching{Cache: mc, TTL: time.Minute, Watch: []string{watched}}}
	}
	for i := 0; i < 3; i++ {
		u, s, found, err := newHelper().Get(context.Background(), "r.io")
		if err != nil || !found || u != "u" || s != "s1" {
			t.Fatalf("get %d: %q %q %v %v", i, u, s, found, err)
		}
	}
	if len(f.calls) != 1 {
		t.Errorf("helper calls %v, want one", f.calls)
	}
	// The watched store changes: the next helper (a new process) refetches.
	f.get["r.io"] = getReply("u", "s2")
	if err := os.WriteFile(watched, []byte("22"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, s, _, _ := newHelper().Get(context.Background(), "r.io"); s != "s2" || len(f.calls) != 2 {
		t.Errorf("after the store changed: secret %q, calls %v", s, f.calls)
	}
	// Not found is not an error, and is not stored as a credential.
	if _, _, found, err := newHelper().Get(context.Background(), "other.io"); found || err != nil {
		t.Errorf("not found: %v %v", found, err)
	}
	if h := newHelper(); h.Remaining() != 0 {
		t.Errorf("Remaining before use = %v", h.Remaining())
	}
	h := newHelper()
	h.Get(context.Background(), "r.io")
	if h.Remaining() != time.Minute {
		t.Errorf("Remaining = %v, want the TTL", h.Remaining())
	}
}

// A secret that is a JWT is kept no longer than its exp, and the remaining
// lifetime caps what the kubelet is told.
func TestLifetime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		secret string
		ttl    time.Duration
		want   time.Duration
	}{
		{"plain-password", 10 * time.Minute, 10 * time.Minute},
		{jwtWithExp(now.Add(30 * time.Second)), 10 * time.Minute, 30 * time.Second},
		{jwtWithExp(now.Add(time.Hour)), 10 * time.Minute, 10 * time.Minute},
		{jwtWithExp(now.Add(-time.Second)), 10 * time.Minute, 0},
		{"a.b.c", time.Minute, time.Minute},
		{"x." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".y", time.Minute, time.Minute},
	} {
		if got := lifetime(tc.secret, tc.ttl, now); got != tc.want {
			t.Errorf("lifetime(%.20s, %v) = %v, want %v", tc.secret, tc.ttl, got, tc.want)
		}
	}
	f := &fake{get: map[string]reply{"r.io": getReply("u", jwtWithExp(time.Now().Add(45*time.Second)))}}
	h := &Helper{Name: "fake", Program: f.program, Caching: &Caching{Cache: &memCache{}, TTL: time.Hour}}
	if _, _, found, err := h.Get(context.Background(), "r.io"); !found || err != nil {
		t.Fatal(err)
	}
	if r := h.Remaining(); r <= 40*time.Second || r > 45*time.Second {
		t.Errorf("Remaining = %v, want about 45s", r)
	}
}

// Cache keys name the helper, its environment's hash and the server, never
// a secret or an environment value.
func TestCacheKeys(t *testing.T) {
	mc := &keyRecorder{}
	f := &fake{get: map[string]reply{"r.io": getReply("u", "s")}}
	h := &Helper{Name: "fake", Env: map[string]string{"TOKEN": "env-secret"}, Program: f.program, Caching: &Caching{Cache: mc, TTL: time.Minute}}
	h.Get(context.Background(), "r.io")
	h.List(context.Background())
	if len(mc.keys) != 2 || !strings.HasPrefix(mc.keys[0], "helper fake ") || !strings.HasSuffix(mc.keys[0], "|get r.io") || !strings.HasSuffix(mc.keys[1], "|list ") {
		t.Errorf("keys %q", mc.keys)
	}
	for _, k := range mc.keys {
		if strings.Contains(k, "env-secret") || strings.Contains(k, "|get s") {
			t.Errorf("key leaks: %q", k)
		}
	}
}

type keyRecorder struct{ keys []string }

func (k *keyRecorder) Do(_ context.Context, key, fp string, fetch func() ([]byte, time.Duration, error)) ([]byte, time.Duration, error) {
	k.keys = append(k.keys, key)
	return fetch()
}

// A cached value that does not decode is not an answer and not a failure:
// the helper is asked.
func TestUndecodableCachedValueAsksTheHelper(t *testing.T) {
	f := &fake{get: map[string]reply{"r.io": getReply("u", "s1")}, list: &reply{out: `{"r.io":"u"}`}}
	mc := &memCache{entries: map[string]memEntry{}}
	h := &Helper{Name: "fake", Program: f.program, Caching: &Caching{Cache: mc, TTL: time.Minute}}
	h.Caching.once.Do(func() { h.Caching.fingerprint = "fp" })
	for _, k := range []string{"helper fake " + envHash(nil) + "|get r.io", "helper fake " + envHash(nil) + "|list "} {
		mc.entries[k] = memEntry{fp: "fp", v: []byte("\x00damaged"), ttl: time.Minute}
	}
	if u, s, found, err := h.Get(context.Background(), "r.io"); err != nil || !found || u != "u" || s != "s1" {
		t.Errorf("Get = %q %q %v %v", u, s, found, err)
	}
	if m, err := h.List(context.Background()); err != nil || m["r.io"] != "u" {
		t.Errorf("List = %v %v", m, err)
	}
	if len(f.calls) != 2 {
		t.Errorf("helper calls %v, want get and list", f.calls)
	}
}

// FuzzLifetime: a helper's secret is outside input, and when it looks like
// a JWT its claims decide how long we keep it: never longer than the TTL,
// never negative, whatever the claims say.
func FuzzLifetime(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(jwtWithExp(now.Add(time.Minute)), int64(time.Hour))
	f.Add("a."+base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1e308}`))+".c", int64(time.Minute))
	f.Add("a."+base64.RawURLEncoding.EncodeToString([]byte(`{"exp":-9223372036854775808}`))+".c", int64(0))
	f.Add("plain", int64(time.Minute))
	f.Fuzz(func(t *testing.T, secret string, ttl int64) {
		got := lifetime(secret, time.Duration(ttl), now)
		if got < 0 && ttl >= 0 {
			t.Fatalf("lifetime %v from ttl %v", got, time.Duration(ttl))
		}
		if ttl > 0 && got > time.Duration(ttl) {
			t.Fatalf("lifetime %v beyond ttl %v", got, time.Duration(ttl))
		}
	})
}
