package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/internal/vlog"
)

// runInProcess calls run as main does, in this process, with env
// (KEY=VALUE) added to the environment for the call. The environment, klog's
// verbosity and its output are restored afterwards, so that calls do not
// leak into each other.
func runInProcess(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	saved, arg0 := os.Environ(), os.Args[0]
	// validate's default --provider-name is the binary's file name.
	os.Args[0] = binary
	defer func() {
		os.Args[0] = arg0
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		resetKlog(t)
	}()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	// A run's deadline counts from its process's start: this call is one.
	processStart = time.Now()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// resetKlog undoes what a run's flags and output set in vlog's global state.
func resetKlog(t *testing.T) {
	if err := vlog.Verbosity().Set("0"); err != nil {
		t.Fatal(err)
	}
	vlog.SetOutput(os.Stderr)
}

// klogVarying is the part of a klog header that differs between two runs
// of the same command: time and pid.
var klogVarying = regexp.MustCompile(`(?m)^([IWEF]\d{4}) \d\d:\d\d:\d\d\.\d{6} +\d+ `)

// tempName is the random part of a temporary file's name (os.CreateTemp).
var tempName = regexp.MustCompile(`\.tmp-\d+`)

// sameKlog is stderr without what differs between two runs of the same
// command: klog's time and pid, temporary file names.
func sameKlog(stderr string) string {
	return tempName.ReplaceAllString(klogVarying.ReplaceAllString(stderr, "$1 TIME PID "), ".tmp-N")
}

// klogMessages strips klog's headers from stderr, leaving the messages;
// a line without a header (our error line) is left out.
func klogMessages(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if loc := klogLine.FindStringIndex(l); loc != nil {
			out = append(out, l[loc[1]:])
		}
	}
	return out
}

// run writes klog's lines to its own stderr, not the process's: what a
// caller of run is given is all of the output.
func TestRunLogsToItsStderr(t *testing.T) {
	cfg := writeConfig(t, `{"auths":{"r.io":{"username":"u","password":"p"}}}`)
	r := runInProcess(t, []string{"HOME=" + t.TempDir()}, request("r.io/app"), "--docker-config", cfg, "-v=2")
	if r.code != 0 || len(klogMessages(r.stderr)) == 0 || !strings.Contains(r.stderr, "image r.io/app: 1 credentials from") {
		t.Errorf("%+v", r)
	}
	// The verbosity does not outlive the run.
	r = runInProcess(t, []string{"HOME=" + t.TempDir()}, request("r.io/app"), "--docker-config", cfg)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("-v leaked into the next run: %+v", r)
	}
}

// The commands whose effects a second run would see, in process only: a
// helper-backed answer fills the cache, cache list shows it (never the
// value), purge empties it, and the next request asks the helper again.
func TestCacheCommandsInProcess(t *testing.T) {
	f := newCacheFixture(t)
	ask := func() result {
		return runInProcess(t, f.env, request("burst.example.com/app"), "--config", f.config)
	}
	if r := ask(); r.code != 0 || !strings.Contains(r.stdout, `"password":"pw-one"`) || f.callCount(t) != 1 {
		t.Fatalf("%+v, %d helper calls", r, f.callCount(t))
	}
	if r := ask(); r.code != 0 || f.callCount(t) != 1 {
		t.Fatalf("not answered from the cache: %+v, %d helper calls", r, f.callCount(t))
	}
	r := runInProcess(t, f.env, "", "cache", "list", "--config", f.config)
	if r.code != 0 || !strings.Contains(r.stdout, "1 entries in ") || !strings.Contains(r.stdout, "burst.example.com") || strings.Contains(r.stdout, "pw-one") {
		t.Errorf("cache list: %+v", r)
	}
	r = runInProcess(t, f.env, "", "cache", "list", "--config", f.config, "-o", "json")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "[") || strings.Contains(r.stdout, "pw-one") {
		t.Errorf("cache list -o json: %+v", r)
	}
	r = runInProcess(t, f.env, "", "cache", "purge", "--config", f.config, "--match", "burst.example.com")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "purged 1 entries") {
		t.Errorf("cache purge: %+v", r)
	}
	if r := ask(); r.code != 0 || f.callCount(t) != 2 {
		t.Errorf("after purge: %+v, %d helper calls, want 2", r, f.callCount(t))
	}
	r = runInProcess(t, f.env, "", "cache", "purge", "--config", f.config, "--all")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "purged 1 entries") {
		t.Errorf("cache purge --all: %+v", r)
	}
	for _, args := range [][]string{{"cache"}, {"cache", "frob"}, {"cache", "purge", "--config", f.config}, {"cache", "list", "-o", "yaml"}} {
		if r := runInProcess(t, f.env, "", args...); r.code != exitUsage || !strings.Contains(r.stderr, "Usage:") {
			t.Errorf("%q: %+v", args, r)
		}
	}
}

// --output-file through run: written once, mode 0600, by a rename.
func TestExportOutputFileInProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "regcred.yaml")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(out)
	r := runInProcess(t, []string{"HOME=" + t.TempDir()}, "", "export-secret", "--name", "regcred", "-n", "a", "--docker-config", exportConfig(t), "--all", "--output-file", out)
	fi, err := os.Stat(out)
	if r.code != 0 || r.stdout != "" || r.stderr != "" || err != nil || fi.Mode().Perm() != 0o600 || os.SameFile(fi, old) {
		t.Fatalf("%+v, %v %v", r, fi, err)
	}
	if data, _ := os.ReadFile(out); len(decodeSecrets(t, string(data), false)) != 1 {
		t.Errorf("file content:\n%s", data)
	}
}

// klogLine is the header of a klog line: severity, date, time, pid, file (in a file of every OS:
// hostile_test.go is Linux-only).
var klogLine = regexp.MustCompile(`^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [\w.]+:\d+\] `)
