package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/cache"
	"github.com/node-credential-provider/node-credential-provider/config"
)

var binary string

// The binary is tested as the kubelet runs it: a separate process, request on
// stdin, exit code and stderr observed.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ncp-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, name)
	// Fixtures copy configs that `docker login` wrote with Docker Desktop's
	// credsStore "desktop". Give them a helper whose store is empty, as on
	// a machine where nobody logged in through it.
	helper := "#!/bin/sh\ncase \"$1\" in\n  list) echo '{}' ;;\n  get) echo 'credentials not found in native keychain'; exit 1 ;;\n  *) exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-desktop"), []byte(helper), 0o755); err != nil {
		panic(err)
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// Runs without a cache directory of their own use one of ours, in the
	// binary and in this process, never the node's default.
	config.DefaultCacheDir = filepath.Join(dir, "default-cache")
	out, err := exec.Command("go", "build", "-ldflags", "-X github.com/node-credential-provider/node-credential-provider/config.DefaultCacheDir="+config.DefaultCacheDir, "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	if c, err := cache.Open(cache.Options{Dir: config.DefaultCacheDir}); err == nil {
		if err := c.Destroy(); err != nil {
			fmt.Fprintf(os.Stderr, "removing the default cache's keyring: %v\n", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// execBinary runs the plugin as the kubelet does: stdin given, killed at
// 60 s, stdout and
// stderr and the exit code observed. env is added to ours. Safe from any
// goroutine: it reports a failure to start as an error.
func execBinary(env []string, stdin string, args ...string) (result, time.Duration, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, 0, err
	}
	// As the kubelet does: SIGKILL at 60 s, and nothing said counts.
	var killed atomic.Bool
	timer := time.AfterFunc(kubeletKill, func() { killed.Store(true); _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	d := time.Since(start)
	if killed.Load() {
		return result{}, d, fmt.Errorf("killed as the kubelet kills a plugin at %s", kubeletKill)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code, err = ee.ExitCode(), nil
	}
	return result{code, out.String(), errb.String()}, d, err
}

// kubeletKill is when the kubelet SIGKILLs a plugin run.
const kubeletKill = 60 * time.Second

// runBinaryEnv runs the command twice: in this process through run, and as
// the built binary. Both must give the same exit code, stdout and stderr
// (klog's time and pid aside); the binary's result is returned. For a
// command whose effects a second run would see (a helper's call count),
// use runBinaryOnce.
func runBinaryEnv(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	in := runInProcess(t, env, stdin, args...)
	r := runBinaryOnce(t, env, stdin, args...)
	if in.code != r.code || in.stdout != r.stdout || sameKlog(in.stderr) != sameKlog(r.stderr) {
		t.Errorf("run %q in process differs from the binary:\nin process: %+v\nbinary:     %+v", args, in, r)
	}
	return r
}

// runBinaryOnce is execBinary for the test goroutine.
func runBinaryOnce(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	r, _, err := execBinary(env, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runBinary runs the plugin with an empty HOME.
func runBinary(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runBinaryEnv(t, []string{"HOME=" + t.TempDir()}, stdin, args...)
}

const (
	secretPW   = "pw-Zx81-never-print-me"
	secretUser = "user-with-secret-pw"
)

func writeConfig(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func request(image string) string {
	return `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + image + `"}` + "\n"
}

func TestAnswers(t *testing.T) {
	cfg := writeConfig(t, `{"auths":{"localhost:5443":{"username":"`+secretUser+`","password":"`+secretPW+`"}}}`)
	r := runBinary(t, request("localhost:5443/lab/busybox"), "--docker-config", cfg)
	want := `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"1m0s","auth":{"localhost:5443":{"username":"` + secretUser + `","password":"` + secretPW + `"}}}` + "\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("got %+v\nwant stdout %s", r, want)
	}
	r = runBinary(t, request("localhost:5000/lab/busybox"), "--docker-config="+cfg, "--cache-duration=0s")
	if r.code != 0 || !strings.Contains(r.stdout, `"cacheDuration":"0s","auth":{}`) {
		t.Errorf("miss: %+v", r)
	}
}

// Every bad input: exit 1, exactly one line on stderr, nothing on stdout.
func TestBadInputs(t *testing.T) {
	good := writeConfig(t, `{"auths":{"r.io":{"username":"u","password":"`+secretPW+`"}}}`)
	for _, tc := range []struct {
		name, stdin, want string
	}{
		{"empty", "", "stdin is empty"},
		{"malformed", "{not json", "not valid JSON"},
		{"two documents", request("r.io/a") + request("r.io/b"), "more than one JSON document"},
		{"oversized", strings.Repeat(" ", 1<<20+1), "larger than 1 MiB"},
		{"no image", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}`, "no image"},
		{"bad image", request("r.io/UPPER case"), `image "r.io/UPPER case" is not a valid image reference`},
		{"wrong kind", `{"kind":"Pod","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/a"}`, `kind is "Pod"`},
		{"wrong apiVersion", `{"kind":"CredentialProviderRequest","apiVersion":"v1","image":"r.io/a"}`, `apiVersion is "v1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.stdin, "--docker-config", good, "-v=10")
			if r.code != 1 || r.stdout != "" {
				t.Errorf("code %d stdout %q", r.code, r.stdout)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, name+": ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr = %q; want one line containing %q", r.stderr, tc.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	r := runBinary(t, "", "--no-such-flag")
	if r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --no-such-flag") {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "frobnicate")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--docker-config") || !strings.Contains(r.stdout, "--cache-duration") {
		t.Errorf("%+v", r)
	}
	r = runBinary(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, name+" v") {
		t.Errorf("%+v", r)
	}
}

// On a terminal with nothing piped in, usage instead of a silent wait. A
// terminal and /dev/null are both character devices, which is what is tested.
func TestTerminalPrintsUsage(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd := exec.Command(binary)
	cmd.Stdin = devnull
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(errb.String(), "Usage:") {
		t.Errorf("err %v stderr %q", err, errb.String())
	}
}

// No secret from the store reaches stderr at any verbosity, on success, on a
// miss, or when a file is broken.
func TestNoSecretOnStderr(t *testing.T) {
	good := writeConfig(t, `{"auths":{"r.io":{"auth":"`+b64(secretUser+":"+secretPW)+`"},"q.io/team":{"username":"`+secretUser+`","password":"`+secretPW+`"}}}`)
	broken := writeConfig(t, `{"auths":{"r.io":{"auth":"`+secretPW+`"},"s.io":{"password":"`+secretPW+`"x}}}`)
	brokenEntry := writeConfig(t, `{"auths":{"r.io":{"auth":"`+secretPW+`"},"s.io":{"username":5,"password":"`+secretPW+`"}}}`)
	for _, v := range []string{"0", "2", "4", "10"} {
		for _, img := range []string{"r.io/a", "q.io/team/a", "q.io/other", "s.io/a"} {
			for _, files := range [][]string{{good}, {broken, good}, {brokenEntry}, {broken}} {
				args := []string{"-v=" + v}
				for _, f := range files {
					args = append(args, "--docker-config", f)
				}
				r := runBinary(t, request(img), args...)
				for _, s := range []string{secretPW, secretUser, "Zx81"} {
					if strings.Contains(r.stderr, s) {
						t.Errorf("-v=%s %s %v: stderr holds a secret: %q", v, img, files, r.stderr)
					}
				}
			}
		}
	}
}

// A broken file never hides a good one, and a miss while a file is broken
// fails loudly so the kubelet logs why.
func TestBrokenFileReported(t *testing.T) {
	good := writeConfig(t, `{"auths":{"r.io":{"username":"u","password":"p"}}}`)
	broken := writeConfig(t, `{"auths":{`)
	r := runBinary(t, request("r.io/a"), "--docker-config", broken, "--docker-config", good)
	if r.code != 0 || !strings.Contains(r.stdout, `"auth":{"r.io":{"username":"u","password":"p"}}`) || !strings.Contains(r.stdout, `"cacheDuration":"0s"`) {
		t.Errorf("hit with broken file: %+v", r)
	}
	if !strings.Contains(r.stderr, broken+": not valid JSON") {
		t.Errorf("broken file not reported: %q", r.stderr)
	}
	r = runBinary(t, request("other.io/a"), "--docker-config", broken, "--docker-config", good)
	if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no credentials for other.io/a, and "+broken+": not valid JSON") {
		t.Errorf("miss with broken file: %+v", r)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Every command answers --help on stdout with exit 0, and a wrong flag with
// one line on stderr and exit 2.
func TestEveryCommandsHelp(t *testing.T) {
	for _, cmd := range [][]string{{}, {"explain"}, {"validate"}, {"cache", "list"}, {"export-secret"}, {"inspect"}} {
		r := runBinary(t, "", append(cmd, "--help")...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "--v") {
			t.Errorf("%v --help: %+v", cmd, r)
		}
		r = runBinary(t, "", append(cmd, "--no-such-flag")...)
		if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "unknown flag: --no-such-flag") {
			t.Errorf("%v --no-such-flag: %+v", cmd, r)
		}
	}
}
