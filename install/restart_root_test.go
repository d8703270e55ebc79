//go:build linux

package install

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// With a Root, the restart command runs with that tree's own shell, as the
// host's when install runs in a container with the host at /host: here a
// tree holding only a static busybox as /bin/sh.
func TestRestartRunsInRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root (CAP_SYS_CHROOT); make test runs as root")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("the static busybox of Debian's busybox-static is needed: %v", err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "sh"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer healthy.Close()
	// pwd shows the command starts at the root's /, not in our directory,
	// and $PATH is the host's usual one, not ours.
	t.Setenv("PATH", "/usr/local/bin")
	r := &Restarter{Command: "pwd > /restarted; echo $PATH >> /restarted", HealthzURL: healthy.URL + "/healthz", Timeout: 10 * time.Second, Log: io.Discard, Root: root}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "restarted"))
	if want := "/\n" + hostPATH + "\n"; err != nil || string(got) != want {
		t.Errorf("in the root: %q, %v; want %q", got, err, want)
	}
	if _, err := os.Stat("/restarted"); err == nil {
		t.Error("the command wrote the real /restarted")
	}
}
