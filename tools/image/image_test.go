package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fakeELF is the start of a 64-bit little-endian ELF file for machine, then
// payload: enough for checkExecutable, and distinct per payload.
func fakeELF(machine uint16, payload string) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	b[18], b[19] = byte(machine), byte(machine>>8)
	return append(b, payload...)
}

func writeBins(t *testing.T, dir, payload string) []platformBinary {
	t.Helper()
	amd, arm := filepath.Join(dir, "amd64"), filepath.Join(dir, "arm64")
	if err := os.WriteFile(amd, fakeELF(62, payload), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(arm, fakeELF(183, payload), 0o755); err != nil {
		t.Fatal(err)
	}
	return []platformBinary{{"linux", "amd64", amd}, {"linux", "arm64", arm}}
}

func testSpec(plats []platformBinary) Spec {
	return Spec{
		Platforms: plats, Name: "example.com/ncp", Tag: "v1.2.3", Version: "v1.2.3", Revision: "abc123",
		Source: "https://example.com/src", Created: time.Unix(1700000000, 0).UTC(),
	}
}

// buildTo runs the whole build into dir and returns the digest and the archive's bytes.
func buildTo(t *testing.T, s Spec, dir string) (v1.Hash, []byte) {
	t.Helper()
	idx, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(filepath.Join(dir, "oci"), idx, s); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "image.tar")
	if err := WriteArchive(archive, filepath.Join(dir, "oci"), s.Created); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	return d, b
}

func TestReproducible(t *testing.T) {
	bins := writeBins(t, t.TempDir(), "same binary")
	s := testSpec(bins)
	d1, a1 := buildTo(t, s, t.TempDir())
	time.Sleep(1100 * time.Millisecond) // a clock leaking into the image would show now
	d2, a2 := buildTo(t, s, t.TempDir())
	if d1 != d2 {
		t.Errorf("two builds of one input: %s and %s", d1, d2)
	}
	if !bytes.Equal(a1, a2) {
		t.Errorf("two builds of one input wrote different archives (%d and %d bytes)", len(a1), len(a2))
	}
	// Each input shows in the digest, or "reproducible" would mean "constant".
	later := s
	later.Created = s.Created.Add(time.Second)
	other := testSpec(writeBins(t, t.TempDir(), "another binary"))
	relabeled := s
	relabeled.Revision = "def456"
	for name, v := range map[string]Spec{"SOURCE_DATE_EPOCH": later, "binary": other, "revision": relabeled} {
		if d, _ := buildTo(t, v, t.TempDir()); d == d1 {
			t.Errorf("another %s gave the same digest %s", name, d)
		}
	}
}

func TestContents(t *testing.T) {
	s := testSpec(writeBins(t, t.TempDir(), "payload"))
	dir := t.TempDir()
	want, _ := buildTo(t, s, dir)
	idx, err := LayoutIndex(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d != want {
		t.Fatalf("layout holds %s, built %s", d, want)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations["org.opencontainers.image.revision"] != "abc123" || m.Annotations["org.opencontainers.image.created"] != "2023-11-14T22:13:20Z" {
		t.Errorf("index annotations: %v", m.Annotations)
	}
	if len(m.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(m.Manifests))
	}
	for i, arch := range []string{"amd64", "arm64"} {
		desc := m.Manifests[i]
		if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != arch {
			t.Errorf("manifest %d: platform %+v, want linux/%s", i, desc.Platform, arch)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != arch || cf.OS != "linux" || !cf.Created.Time.Equal(s.Created) {
			t.Errorf("%s config: %s/%s created %v", arch, cf.OS, cf.Architecture, cf.Created)
		}
		if got := cf.Config.Labels["org.opencontainers.image.version"]; got != "v1.2.3" {
			t.Errorf("%s: version label %q", arch, got)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != BinaryPath {
			t.Errorf("%s: entrypoint %v", arch, cf.Config.Entrypoint)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: layers %v, %v", arch, layers, err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
			if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(s.Created) {
				t.Errorf("%s: %s owned %d:%d at %v", arch, h.Name, h.Uid, h.Gid, h.ModTime)
			}
			if h.Name == BinaryPath[1:] {
				b, _ := io.ReadAll(tr)
				if !bytes.Equal(b, fakeELF(map[string]uint16{"amd64": 62, "arm64": 183}[arch], "payload")) || h.Mode != 0o755 {
					t.Errorf("%s: binary of %d bytes, mode %o", arch, len(b), h.Mode)
				}
			}
		}
		rc.Close()
		if strings.Join(names, " ") != "usr/ usr/local/ usr/local/bin/ usr/local/bin/node-credential-provider" {
			t.Errorf("%s: layer holds %v", arch, names)
		}
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	bins := writeBins(t, dir, "x")
	swapped := []platformBinary{{"linux", "amd64", bins[1].path}}
	if _, err := Build(testSpec(swapped)); err == nil || !strings.Contains(err.Error(), "ELF machine 183 is not amd64") {
		t.Errorf("an arm64 binary filed as amd64: %v", err)
	}
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if _, err := Build(testSpec([]platformBinary{{"linux", "amd64", script}})); err == nil || !strings.Contains(err.Error(), "not a 64-bit little-endian ELF") {
		t.Errorf("a script: %v", err)
	}
	noVersion := testSpec(bins)
	noVersion.Version = ""
	if _, err := Build(noVersion); err == nil {
		t.Error("no version: no error")
	}
	var out bytes.Buffer
	err := run([]string{"build", "--platform", "linux/amd64=" + bins[0].path, "--version", "v1", "--revision", "r", "--layout", filepath.Join(dir, "l"), "--source-date-epoch", ""}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("no SOURCE_DATE_EPOCH: %v", err)
	}
	var p platformFlags
	for _, bad := range []string{"linux/amd64", "linux=x", "/amd64=x", "linux/arm/v7/x=y"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("--platform %q accepted", bad)
		}
	}
	if TagFor("v0.1.0-dev+abc") != "v0.1.0-dev-abc" {
		t.Errorf("TagFor: %q", TagFor("v0.1.0-dev+abc"))
	}
}

// basicAuth demands user:pass, as the e2e's registry does.
func basicAuth(user, pass string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func TestPush(t *testing.T) {
	srv := httptest.NewTLSServer(basicAuth("pusher", "s3cret", registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testSpec(writeBins(t, dir, "pushed"))
	want, _ := buildTo(t, s, dir)
	host := strings.TrimPrefix(srv.URL, "https://")
	to := host + "/team/ncp:v1.2.3"
	layoutDir := filepath.Join(dir, "oci")

	push := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(append([]string{"push", "--layout", layoutDir, "--to", to}, args...), strings.NewReader(stdin), &out)
		return strings.TrimSpace(out.String()), err
	}
	if _, err := push("s3cret\n", "--username", "pusher", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "x509") {
		t.Errorf("without the CA: %v", err)
	}
	if _, err := push("wrong\n", "--username", "pusher", "--password-stdin", "--ca-file", ca); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong password: %v", err)
	}
	if _, err := push("", "--username", "pusher", "--ca-file", ca); err == nil {
		t.Error("--username without a password source: no error")
	}
	got, err := push("s3cret\n", "--username", "pusher", "--password-stdin", "--ca-file", ca)
	if err != nil {
		t.Fatal(err)
	}
	if got != host+"/team/ncp@"+want.String() {
		t.Errorf("push printed %q, want %s/team/ncp@%s", got, host, want)
	}
	// What the registry holds is what we built: the index and both platforms.
	ref, _ := name.ParseReference(to)
	tr, _ := transportFor(ca)
	idx, err := remote.Index(ref, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "pusher", Password: "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d != want {
		t.Errorf("registry holds %s, pushed %s", d, want)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.Layers(); err != nil {
			t.Errorf("%s: %v", desc.Platform, err)
		}
		layers, _ := img.Layers()
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatalf("%s: layer not in the registry: %v", desc.Platform, err)
			}
			// The digest is checked at the end of the stream.
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Errorf("%s: reading a layer back: %v", desc.Platform, err)
			}
			rc.Close()
		}
	}
}
