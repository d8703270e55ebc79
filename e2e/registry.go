//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// LocalRegistry is Debian's docker-registry (distribution 2.8) on
// 127.0.0.1, over TLS with a CA made for the run, demanding a bcrypt
// htpasswd user.
type LocalRegistry struct {
	ws       *Workspace
	host     string // localhost:PORT
	user     string
	password string
	CAFile   string // the CA that signed the registry's certificate
	CertDir  string // holds ca.crt, for skopeo --dest-cert-dir
	LogPath  string
	ociDir   string // OCI layout holding the test image
	htpasswd string
	cfgPath  string
	// pushHost is where this machine pushes (the same registry as host,
	// reached another way, for a registry on a kind network); "" is host.
	pushHost string
	// restartFn restarts a registry this harness did not start itself.
	restartFn func() error
	proc      *Process
	client    *http.Client

	mu     sync.Mutex
	pushed map[string]bool
	fresh  int
}

// ImageTag is the tag every pushed image has.
const ImageTag = "v1"

// SetupRepos are pushed at start-up: named ones for cases that need a
// particular repository or namespace-like path, and a burst pool.
var SetupRepos = func() []string {
	repos := []string{"lab/busybox", "team-a/app", "team-b/app"}
	for i := 1; i <= 4; i++ {
		repos = append(repos, fmt.Sprintf("burst/img-%02d", i))
	}
	return repos
}()

func (r *LocalRegistry) Host() string     { return r.host }
func (r *LocalRegistry) Username() string { return r.user }
func (r *LocalRegistry) Password() string { return r.password }

func (r *LocalRegistry) Image(repo string) string {
	return r.host + "/" + repo + ":" + ImageTag
}

func (r *LocalRegistry) FreshImage(t testing.TB, hint string) string {
	t.Helper()
	r.mu.Lock()
	r.fresh++
	repo := fmt.Sprintf("fresh/%s-%03d", sanitize(hint), r.fresh)
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.Push(ctx, repo); err != nil {
		t.Fatalf("pushing %s: %v", repo, err)
	}
	return r.Image(repo)
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "img"
	}
	return out
}

// StartRegistry makes the PKI and htpasswd file, starts the registry and
// waits until it answers (with 401, as it should without credentials).
func StartRegistry(ws *Workspace) (*LocalRegistry, error) {
	dir, err := ws.MkdirAll("registry")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	r := &LocalRegistry{
		ws:       ws,
		host:     fmt.Sprintf("localhost:%d", port),
		user:     "e2e-user",
		password: "e2e-throwaway-" + hex.EncodeToString(suffix),
		CertDir:  filepath.Join(dir, "certs"),
		pushed:   map[string]bool{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := os.MkdirAll(r.CertDir, 0o755); err != nil {
		return nil, err
	}
	if err := makeCerts(ctx, ws, dir); err != nil {
		return nil, err
	}
	r.CAFile = filepath.Join(dir, "ca.crt")
	caPEM, err := os.ReadFile(r.CAFile)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(r.CertDir, "ca.crt"), caPEM, 0o644); err != nil {
		return nil, err
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	r.htpasswd = htpasswd
	if _, err := ws.Run(ctx, nil, "htpasswd", "-Bbc", htpasswd, r.user, r.password); err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  secret: e2e-not-a-secret
  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: ncp-e2e
    path: %s
`, filepath.Join(dir, "data"), port, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), htpasswd)
	r.cfgPath = filepath.Join(dir, "config.yml")
	if err := os.WriteFile(r.cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	r.client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// start starts the registry process and waits until it answers (401, as
// it should without credentials).
func (r *LocalRegistry) start() error {
	p, err := r.ws.Start("registry", filepath.Dir(r.cfgPath), nil, "docker-registry", "serve", r.cfgPath)
	if err != nil {
		return err
	}
	r.proc = p
	r.LogPath = p.LogPath
	err = WaitFor(20*time.Second, 50*time.Millisecond, func() (bool, error) {
		if done, perr := p.Exited(); done {
			return false, Permanent(fmt.Errorf("registry exited: %v: %s", perr, TailFile(p.LogPath, 1500)))
		}
		resp, err := r.client.Get("https://" + r.host + "/v2/")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return false, fmt.Errorf("GET /v2/ without credentials: %s, want 401", resp.Status)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the registry: %w", err)
	}
	return nil
}

// SetUser adds a user to the registry's htpasswd, or changes its password,
// and restarts the registry (distribution reads htpasswd at start) on the
// same port and storage.
func (r *LocalRegistry) SetUser(t testing.TB, user, password string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.ws.Run(ctx, nil, "htpasswd", "-Bb", r.htpasswd, user, password); err != nil {
		t.Fatalf("htpasswd: %s", strings.ReplaceAll(err.Error(), password, "***"))
	}
	if r.restartFn != nil {
		if err := r.restartFn(); err != nil {
			t.Fatalf("restarting the registry: %v", err)
		}
		return
	}
	if err := r.proc.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.start(); err != nil {
		t.Fatalf("restarting the registry: %v", err)
	}
}

// makeCerts makes a CA and a server certificate for localhost and 127.0.0.1
// with openssl.
func makeCerts(ctx context.Context, ws *Workspace, dir string) error {
	p := func(name string) string { return filepath.Join(dir, name) }
	ext := "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
	if err := os.WriteFile(p("server.ext"), []byte(ext), 0o644); err != nil {
		return err
	}
	steps := [][]string{
		{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ncp-e2e-ca",
			"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
			"-keyout", p("ca.key"), "-out", p("ca.crt")},
		{"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", p("server.key"), "-out", p("server.csr")},
		{"openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial",
			"-days", "2", "-extfile", p("server.ext"), "-out", p("server.crt")},
	}
	for _, s := range steps {
		if _, err := ws.Run(ctx, nil, s...); err != nil {
			return err
		}
	}
	return nil
}

// BuildTestImage packs Debian's static busybox into an OCI layout with umoci:
// no network, under a second.
func (r *LocalRegistry) BuildTestImage(ctx context.Context) error {
	dir, err := r.ws.MkdirAll("image")
	if err != nil {
		return err
	}
	layout := filepath.Join(dir, "oci")
	bundle := filepath.Join(dir, "bundle")
	ref := layout + ":busybox"
	for _, s := range [][]string{
		{"umoci", "init", "--layout", layout},
		{"umoci", "new", "--image", ref},
		{"umoci", "unpack", "--rootless", "--image", ref, bundle},
	} {
		if _, err := r.ws.Run(ctx, nil, s...); err != nil {
			return err
		}
	}
	bin := filepath.Join(bundle, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("reading Debian's busybox-static: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), bb, 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "sleep", "cat", "echo", "ls", "true", "false", "env", "wget"} {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			return err
		}
	}
	for _, s := range [][]string{
		{"umoci", "repack", "--image", ref, bundle},
		{"umoci", "config", "--image", ref, "--config.env", "PATH=/bin", "--config.cmd", "sleep", "--config.cmd", "3600"},
	} {
		if _, err := r.ws.Run(ctx, nil, s...); err != nil {
			return err
		}
	}
	r.ociDir = layout
	return nil
}

func (r *LocalRegistry) pushImage(repo string) string {
	if r.pushHost == "" {
		return r.Image(repo)
	}
	return r.pushHost + "/" + repo + ":" + ImageTag
}

// Push copies the test image to repo:ImageTag with skopeo.
func (r *LocalRegistry) Push(ctx context.Context, repo string) error {
	if r.ociDir == "" {
		return fmt.Errorf("no test image built")
	}
	_, err := r.ws.Run(ctx, nil, "skopeo", "copy", "--quiet",
		"--dest-creds", r.user+":"+r.password, "--dest-cert-dir", r.CertDir,
		"oci:"+r.ociDir+":busybox", "docker://"+r.pushImage(repo))
	if err != nil {
		// The password is in the command line; keep it out of errors.
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), r.password, "***"))
	}
	r.mu.Lock()
	r.pushed[repo] = true
	r.mu.Unlock()
	return nil
}

// PushAll pushes repos, a few at a time.
func (r *LocalRegistry) PushAll(ctx context.Context, repos []string) error {
	sem := make(chan struct{}, 4)
	errs := make(chan error, len(repos))
	var wg sync.WaitGroup
	for _, repo := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := r.Push(ctx, repo); err != nil {
				errs <- fmt.Errorf("pushing %s: %w", repo, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
