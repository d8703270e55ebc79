//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/node-credential-provider/node-credential-provider/internal/proctest"
)

// hangingHelpers installs docker-credential-hang-N helpers that start a
// grandchild (sleep) and wait for it, as a shell helper stuck on a network
// call does, and that write their pid to DIR/started-N first. Their
// environment carries marker, so that every process they leave is found.
func hangingHelpers(t *testing.T, n int) (bin, dir string) {
	t.Helper()
	bin, dir = t.TempDir(), t.TempDir()
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("#!/bin/sh\necho $$ > %s/started-%d\nsleep 300 &\nwait\n", dir, i)
		if err := os.WriteFile(filepath.Join(bin, fmt.Sprintf("docker-credential-hang-%d", i)), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin, dir
}

// marked lists the live processes whose environment holds marker.
func marked(marker string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte(marker)) || !proctest.Alive(pid) {
			continue // not ours, gone, or dead and waiting to be reaped
		}
		out = append(out, pid)
	}
	return out
}

// newMarker makes a marker for the processes of one test, and kills what
// carries it when the test ends, so that a test that fails before its check
// leaves nothing running either.
func newMarker(t *testing.T, what string) string {
	marker := fmt.Sprintf("NCP_TEST_MARKER=%s%d", what, time.Now().UnixNano())
	t.Cleanup(func() { proctest.Kill(marked(marker)...) })
	return marker
}

// noneLeft fails unless every process carrying marker is gone within a few
// seconds (a killed process takes a moment to be reaped by init).
func noneLeft(t *testing.T, marker string) {
	t.Helper()
	proctest.RequireGone(t, "helper processes outlived the run", func() []int { return marked(marker) })
}

// The operator: credentialHelper sources whose helpers hang (some
// past their timeout, some still within it when the run's deadline comes),
// then a static source with the right credential. The run answers from the
// static source before its deadline, long before the kubelet's kill, says
// which sources were cut short, and leaves no helper process behind.
func TestHangingHelpersAnswerBeforeTheDeadline(t *testing.T) {
	user := writeFile(t, t.TempDir(), "username", "robot\n", 0o600)
	pass := writeFile(t, t.TempDir(), "password", secretPW+"\n", 0o600)
	for _, tc := range []struct {
		name     string
		timeouts []string // per hanging helper
		deadline time.Duration
	}{
		// Every helper times out before the deadline: the answer comes once
		// the last one has.
		{"past their timeouts", []string{"1s", "1s", "1s"}, 6 * time.Second},
		// The case: three helpers allowed 25s; the deadline cuts
		// them short.
		{"within their timeouts", []string{"25s", "25s", "25s"}, 3 * time.Second},
		{"mixed, five at once", []string{"1s", "50s", "2s", "50s", "25s"}, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, started := hangingHelpers(t, len(tc.timeouts))
			marker := newMarker(t, "hang")
			name, value, _ := strings.Cut(marker, "=")
			cfg := head(t) + "cache: {disabled: true}\nhelpers:\n"
			for i, to := range tc.timeouts {
				cfg += fmt.Sprintf("  - {name: hang-%d, timeout: %s, env: {%s: %s}}\n", i, to, name, value)
			}
			cfg += "sources:\n"
			for i := range tc.timeouts {
				cfg += fmt.Sprintf("  - credentialHelper: {helper: hang-%d}\n", i)
			}
			cfg += fmt.Sprintf("  - {name: robot, static: {usernameFile: %s, passwordFile: %s}, matchImages: [r.example.com]}\n", user, pass)
			path := writeFile(t, t.TempDir(), "config.yaml", cfg, 0o600)

			r, took, err := execBinary([]string{"PATH=" + bin + ":" + os.Getenv("PATH")}, request("r.example.com/app"),
				"--config", path, "--deadline", tc.deadline.String())
			if err != nil {
				t.Fatal(err)
			}
			if r.code != 0 || !strings.Contains(r.stdout, `"r.example.com":{"username":"robot"`) {
				t.Fatalf("exit %d after %s\nstdout %s\nstderr %s", r.code, took, r.stdout, r.stderr)
			}
			// Never cached by the kubelet: the hung helpers may answer next time.
			if !strings.Contains(r.stdout, `"cacheDuration":"0s"`) {
				t.Errorf("answer cached although sources failed: %s", r.stdout)
			}
			if took > tc.deadline+5*time.Second {
				t.Errorf("answered after %s, deadline %s", took, tc.deadline)
			}
			for i, to := range tc.timeouts {
				if _, err := os.Stat(filepath.Join(started, fmt.Sprintf("started-%d", i))); err != nil {
					t.Errorf("helper %d never started: %v", i, err)
				}
				helper := "docker-credential-hang-" + strconv.Itoa(i)
				want := helper + " list: timed out after " + to
				if d, _ := time.ParseDuration(to); d > tc.deadline {
					want = "cut short at the run's deadline"
				}
				said := false
				for _, line := range strings.Split(r.stderr, "\n") {
					said = said || strings.Contains(line, helper) && strings.Contains(line, want)
				}
				if !said {
					t.Errorf("stderr has no line about %s saying %q:\n%s", helper, want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, secretPW) {
				t.Errorf("stderr shows the password")
			}
			noneLeft(t, marker)
		})
	}
}

// The kubelet SIGKILLs the run 3 s into a credHelpers helper that hangs,
// well within its default 10 s timeout: the helper, and the sleep it
// started in its process group, do not outlive the run.
func TestKilledRunLeavesNoHelper(t *testing.T) {
	bin, started := hangingHelpers(t, 1)
	marker := newMarker(t, "killed-")
	name, value, _ := strings.Cut(marker, "=")
	docker := writeFile(t, t.TempDir(), "config.json", `{"auths":{},"credHelpers":{"r.example.com":"hang-0"}}`, 0o600)
	cfg := head(t) + fmt.Sprintf("cache: {disabled: true}\nhelpers: [{name: hang-0, env: {%s: %s}}]\nsources: [{dockerConfig: {paths: [%s]}}]\n", name, value, docker)
	path := writeFile(t, t.TempDir(), "config.yaml", cfg, 0o600)

	cmd := exec.Command(binary, "--config", path)
	cmd.Stdin = strings.NewReader(request("r.example.com/app"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(started, "started-0")); err == nil {
			break
		}
		if time.Now().After(end) {
			_ = cmd.Process.Kill()
			t.Fatal("the helper never started")
		}
	}
	time.Sleep(3 * time.Second)
	if left := marked(marker); len(left) < 2 {
		t.Fatalf("before the kill, want the helper and its sleep running: pids %v", left)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, as the kubelet sends it
		t.Fatal(err)
	}
	_ = cmd.Wait()
	noneLeft(t, marker)
}

// The deadline is a flag the kubelet's provider args can pass, bounded by
// the kubelet's kill.
func TestDeadlineFlag(t *testing.T) {
	for _, d := range []string{"0s", "-1s", "56s", "1m"} {
		r := runBinary(t, request("r.io/app"), "--deadline", d)
		parsed, _ := time.ParseDuration(d)
		if r.code != 1 || !strings.Contains(r.stderr, "--deadline "+parsed.String()) || !strings.Contains(r.stderr, "at most 55s") {
			t.Errorf("--deadline %s: exit %d, %q", d, r.code, r.stderr)
		}
	}
	r := runBinary(t, "", "--help")
	if !strings.Contains(r.stdout, "--deadline duration") || !strings.Contains(r.stdout, "(default 45s)") {
		t.Errorf("--help: %s", r.stdout)
	}
}

func head(t *testing.T) string {
	t.Helper()
	return "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\n"
}
