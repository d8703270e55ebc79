//go:build linux

package cache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var benchValue = []byte(`{"username":"robot$ci","password":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.0123456789abcdef"}`)

func BenchmarkHit(b *testing.B) {
	c, _ := openTest(b, Options{})
	fetch := func() ([]byte, time.Duration, error) { return benchValue, time.Hour, nil }
	c.Do(context.Background(), "helper:pass|get|localhost:5443", "fp", fetch)
	b.ReportAllocs()
	for b.Loop() {
		if v, _, err := c.Do(context.Background(), "helper:pass|get|localhost:5443", "fp", fetch); err != nil || len(v) != len(benchValue) {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkOpenHit is what one plugin process pays: Open finds the keyring,
// Do reads the entry.
func BenchmarkOpenHit(b *testing.B) {
	c, _ := openTest(b, Options{})
	fetch := func() ([]byte, time.Duration, error) { return benchValue, time.Hour, nil }
	c.Do(context.Background(), "helper:pass|get|localhost:5443", "fp", fetch)
	b.ReportAllocs()
	for b.Loop() {
		c2, _ := Open(Options{Dir: c.dir})
		if v, _, err := c2.Do(context.Background(), "helper:pass|get|localhost:5443", "fp", fetch); err != nil || len(v) != len(benchValue) {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkMissStore: the fingerprint changes every time, so each Do misses,
// locks, fetches (for free here) and stores.
func BenchmarkMissStore(b *testing.B) {
	c, _ := openTest(b, Options{})
	fetch := func() ([]byte, time.Duration, error) { return benchValue, time.Hour, nil }
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := c.Do(context.Background(), "helper:pass|get|localhost:5443", fmt.Sprint(i), fetch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealCost is what sealing adds to a hit, in two parts: checking
// and reading the key file, and opening the sealed payload (in place).
func BenchmarkSealCost(b *testing.B) {
	c, ks := openTest(b, Options{})
	fetch := func() ([]byte, time.Duration, error) { return benchValue, time.Hour, nil }
	const key = "helper:pass|get|localhost:5443"
	c.Do(context.Background(), key, "fp", fetch)
	name := entryName(key)
	payload, err := ks.read(name)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("key-file", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.key(false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		s, _ := c.key(false)
		buf := make([]byte, len(payload))
		b.ReportAllocs()
		for b.Loop() {
			copy(buf, payload) // open decrypts in place
			if e, err := s.open(name, buf); err != nil || len(e.data) != len(benchValue) {
				b.Fatal(err)
			}
		}
	})
}
