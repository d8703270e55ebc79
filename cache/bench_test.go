//go:build linux

package cache

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var benchValue = []byte(`{"username":"robot$ci","password":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.0123456789abcdef"}`)

func BenchmarkHit(b *testing.B) {
	c, _ := openTest(b, Options{})
	fetch := func() ([]byte, time.Duration, error) { return benchValue, time.Hour, nil }
	c.Do("helper:pass|get|localhost:5443", "fp", fetch)
	b.ReportAllocs()
	for b.Loop() {
		if v, _, err := c.Do("helper:pass|get|localhost:5443", "fp", fetch); err != nil || len(v) != len(benchValue) {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkOpenHit is what one plugin process pays: Open finds the keyring,
// Do reads the entry.
func BenchmarkOpenHit(b *testing.B) {
	c, _ := openTest(b, Options{})
	fetch := func() ([]byte, time.Duration, error) { return benchValue, time.Hour, nil }
	c.Do("helper:pass|get|localhost:5443", "fp", fetch)
	b.ReportAllocs()
	for b.Loop() {
		c2, _ := Open(Options{Dir: c.dir})
		if v, _, err := c2.Do("helper:pass|get|localhost:5443", "fp", fetch); err != nil || len(v) != len(benchValue) {
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
		if _, _, err := c.Do("helper:pass|get|localhost:5443", fmt.Sprint(i), fetch); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProcessCost times whole processes, as the kubelet runs them: a tiny
// program answering from a cache hit against one answering from a small
// docker config file, and the real plugin for scale. Slow; opt in with
// NCP_CACHE_PROCESS_COST=1 (ROUNDS to change the 100 interleaved rounds).
func TestProcessCost(t *testing.T) {
	if os.Getenv("NCP_CACHE_PROCESS_COST") == "" {
		t.Skip("set NCP_CACHE_PROCESS_COST=1 to time whole processes")
	}
	rounds := 100
	fmt.Sscan(os.Getenv("ROUNDS"), &rounds)
	bin := t.TempDir()
	build := func(name, pkg string) string {
		out := filepath.Join(bin, name)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	dir := filepath.Join(t.TempDir(), "cache")
	openTest(t, Options{Dir: dir}) // removes the keyring afterwards
	config := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(config, []byte(`{"auths":{"localhost:5443":{"auth":"dTpw"}}}`), 0o600)
	request := []byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"localhost:5443/team/app"}` + "\n")

	type prog struct {
		name  string
		args  []string
		times []time.Duration
	}
	progs := []*prog{
		{name: "cache hit (testdata/hitproc)", args: []string{build("hitproc", "./testdata/hitproc"), dir, "-want-hit"}},
		{name: "docker config file (testdata/fileproc)", args: []string{build("fileproc", "./testdata/fileproc"), config}},
		{name: "real plugin, docker config", args: []string{build("plugin", "../cmd/node-credential-provider"), "--docker-config=" + config}},
	}
	run := func(p *prog) time.Duration {
		cmd := exec.Command(p.args[0], p.args[1:]...)
		cmd.Stdin = bytes.NewReader(request)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil || !strings.Contains(out.String(), `"username":"u","password":"p"`) {
			t.Fatalf("%s: %v: %s", p.name, err, out.String())
		}
		return d
	}
	// Fill the cache and warm the page cache: the first run of hitproc
	// misses, -want-hit makes it fail, so run it without.
	exec.Command(progs[0].args[0], dir).Run()
	for _, p := range progs {
		run(p)
	}
	for r := 0; r < rounds; r++ {
		for i := range progs {
			p := progs[(r+i)%len(progs)] // rotate who goes first
			p.times = append(p.times, run(p))
		}
	}
	pct := func(ts []time.Duration, q float64) time.Duration {
		s := slices.Clone(ts)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))]
	}
	t.Logf("%d interleaved rounds, %d CPUs, %s", rounds, runtime.NumCPU(), runtime.Version())
	for _, p := range progs {
		t.Logf("%-40s median %v  p90 %v", p.name, pct(p.times, 0.5).Round(time.Microsecond), pct(p.times, 0.9).Round(time.Microsecond))
	}
	ratio := float64(pct(progs[0].times, 0.5)) / float64(pct(progs[1].times, 0.5))
	t.Logf("cache hit / docker config file: %.2fx", ratio)
	if ratio > 1.5 {
		t.Errorf("a cache hit costs %.2fx a docker config answer, more than 1.5x", ratio)
	}
}
