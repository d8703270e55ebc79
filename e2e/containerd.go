//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PauseImage is the sandbox image name; it is built locally and imported,
// never pulled (no registry outside this machine is reachable).
const PauseImage = "ncp-e2e.local/pause:e2e"

// Containerd is Debian's containerd 1.6 with runc, all of its state under
// the workspace.
type Containerd struct {
	ws       *Workspace
	Dir      string
	Socket   string
	HostsDir string // certs.d, registry hosts.toml files
	proc     *Process
}

// StartContainerd writes the config (with the machine's fixes: restricted
// oom_score_adj, a certs.d that trusts the registry CA) and starts it.
func StartContainerd(ws *Workspace, reg *LocalRegistry) (*Containerd, error) {
	dir, err := ws.MkdirAll("containerd")
	if err != nil {
		return nil, err
	}
	c := &Containerd{ws: ws, Dir: dir, Socket: filepath.Join(dir, "containerd.sock"), HostsDir: filepath.Join(dir, "certs.d")}
	for _, d := range []string{c.HostsDir, filepath.Join(dir, "cni-bin"), filepath.Join(dir, "cni-conf")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if reg != nil {
		if err := c.TrustRegistry(reg.Host(), reg.CAFile); err != nil {
			return nil, err
		}
	}
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  # Root lacks CAP_SYS_RESOURCE here: without this every sandbox fails in
  # runc with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[6]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[7]q
    conf_dir = %[8]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[9]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Socket, c.Socket+".ttrpc", PauseImage,
		filepath.Join(dir, "runc"), filepath.Join(dir, "cni-bin"), filepath.Join(dir, "cni-conf"), c.HostsDir)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	p, err := ws.Start("containerd", dir, nil, "containerd", "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	c.proc = p
	ws.Defer("containerd teardown", c.teardown)
	err = WaitFor(30*time.Second, 50*time.Millisecond, func() (bool, error) {
		if done, perr := p.Exited(); done {
			return false, Permanent(fmt.Errorf("containerd exited: %v: %s", perr, TailFile(p.LogPath, 1500)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := c.Ctr(ctx, "version"); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for containerd: %w", err)
	}
	return c, nil
}

// Ctr runs ctr against this containerd in the k8s.io namespace.
func (c *Containerd) Ctr(ctx context.Context, args ...string) (string, error) {
	argv := append([]string{"ctr", "--address", c.Socket, "--namespace", "k8s.io"}, args...)
	return c.ws.Run(ctx, nil, argv...)
}

// BuildPauseImage compiles Kubernetes' pause.c statically, packs it with
// umoci and imports it as PauseImage.
func (c *Containerd) BuildPauseImage(ctx context.Context, pauseC string) error {
	dir, err := c.ws.MkdirAll("pause")
	if err != nil {
		return err
	}
	layout := filepath.Join(dir, "oci")
	bundle := filepath.Join(dir, "bundle")
	ref := layout + ":pause"
	if _, err := c.ws.Run(ctx, nil, "gcc", "-static", "-O2", "-DVERSION=ncp-e2e", "-o", filepath.Join(dir, "pause"), pauseC); err != nil {
		return err
	}
	for _, s := range [][]string{
		{"umoci", "init", "--layout", layout},
		{"umoci", "new", "--image", ref},
		{"umoci", "unpack", "--rootless", "--image", ref, bundle},
		{"cp", filepath.Join(dir, "pause"), filepath.Join(bundle, "rootfs", "pause")},
		{"umoci", "repack", "--image", ref, bundle},
		{"umoci", "config", "--image", ref, "--config.entrypoint", "/pause"},
		{"skopeo", "copy", "--quiet", "oci:" + ref, "docker-archive:" + filepath.Join(dir, "pause.tar") + ":" + PauseImage},
	} {
		if _, err := c.ws.Run(ctx, nil, s...); err != nil {
			return err
		}
	}
	_, err = c.Ctr(ctx, "images", "import", filepath.Join(dir, "pause.tar"))
	return err
}

// RemoveImage removes an image by name; a missing image is not an error.
func (c *Containerd) RemoveImage(ctx context.Context, image string) error {
	out, err := c.Ctr(ctx, "images", "rm", "--sync", image)
	if err != nil && !strings.Contains(out, "not found") {
		return err
	}
	return nil
}

// teardown kills and deletes every task and container in this containerd,
// stops it, then stops the shims it started (found by this containerd's
// unique socket path on their command line, and stopped by PID).
func (c *Containerd) teardown() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if done, _ := c.proc.Exited(); !done {
		if out, err := c.Ctr(ctx, "tasks", "ls", "-q"); err == nil && strings.TrimSpace(out) != "" {
			for _, id := range strings.Fields(out) {
				_, _ = c.Ctr(ctx, "tasks", "kill", "-s", "SIGKILL", id)
			}
			// The CRI plugin deletes a task once it has exited; wait for
			// that, then delete what is left by hand.
			_ = WaitFor(10*time.Second, 100*time.Millisecond, func() (bool, error) {
				out, err := c.Ctr(ctx, "tasks", "ls", "-q")
				return err == nil && strings.TrimSpace(out) == "", err
			})
			if out, err := c.Ctr(ctx, "tasks", "ls", "-q"); err == nil {
				for _, id := range strings.Fields(out) {
					_, _ = c.Ctr(ctx, "tasks", "rm", "-f", id)
				}
			}
		}
		if out, err := c.Ctr(ctx, "containers", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				_, _ = c.Ctr(ctx, "containers", "rm", id)
			}
		}
		if err := c.proc.Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, pid := range c.shimPIDs() {
		killShim(pid)
	}
	for _, d := range []string{"/run/containerd/runc", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd"} {
		removeIfEmpty(d)
	}
	return errors.Join(errs...)
}

// shimPIDs lists the containerd-shim processes that name this containerd's
// socket in their arguments.
func (c *Containerd) shimPIDs() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for _, a := range args {
			if a == c.Socket {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// removeIfEmpty removes a folder only when it holds nothing (another
// containerd on the machine may use it).
func removeIfEmpty(dir string) {
	_ = syscall.Rmdir(dir)
}

// killShim kills a containerd shim and removes its socket, which a killed
// shim leaves in the hard-coded /run/containerd/s.
func killShim(pid int) {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	sock := shimSocket(strings.Split(string(cmdline), "\x00"))
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if sock != "" {
		_ = os.Remove(sock)
	}
}

// shimSocket is the socket path a containerd 1.6 shim listens on: under
// /run/containerd/s, named by the sha256 of address/namespace/id.
func shimSocket(args []string) string {
	var address, ns, id string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-address":
			address = args[i+1]
		case "-namespace":
			ns = args[i+1]
		case "-id":
			id = args[i+1]
		}
	}
	if address == "" || ns == "" || id == "" {
		return ""
	}
	return filepath.Join("/run/containerd/s", fmt.Sprintf("%x", sha256.Sum256([]byte(filepath.Join(address, ns, id)))))
}

// TrustRegistry makes containerd pull from host (host:port) over TLS with
// the given CA. It reads certs.d on every pull, so this takes effect at
// once.
func (c *Containerd) TrustRegistry(host, caFile string) error {
	// containerd 1.6 accepts only a [host."https://..."] table here; a
	// top-level server + ca gives "invalid host tree" and a silent fall
	// back to plain HTTP.
	hostDir := filepath.Join(c.HostsDir, host)
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return err
	}
	hosts := fmt.Sprintf("[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = %q\n", "https://"+host, caFile)
	return os.WriteFile(filepath.Join(hostDir, "hosts.toml"), []byte(hosts), 0o644)
}
