package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A relative --docker-config, as a person testing by hand types it: plugin
// mode names the flag (the kubelet's working directory is its own), the
// commands people run resolve it against theirs. Neither names a config
// field the user never wrote.
func TestRelativeDockerConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"r.io":{"username":"u","password":"p"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (int, string, string) {
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	code, out, stderr := run(request("r.io/app"), "--docker-config", "config.json")
	if code != 1 || out != "" || !strings.Contains(stderr, `--docker-config "config.json": must be an absolute path in plugin mode`) || strings.Contains(stderr, "sources[") {
		t.Errorf("plugin mode: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, stderr = run("", "explain", "r.io/app", "--docker-config", "config.json")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, "config.json")) || !strings.Contains(out, "ANSWERS") {
		t.Errorf("explain: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, stderr = run("", "validate", "--docker-config", "config.json")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, "config.json")) {
		t.Errorf("validate: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = run("", "--help")
	if code != 0 || !strings.Contains(out, "a relative path is resolved against the working directory, except in plugin mode") {
		t.Errorf("--help does not say how a relative --docker-config is read: %q", out)
	}
}
