package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinaryPath is where the image holds the plugin binary; the entrypoint.
const BinaryPath = "/usr/local/bin/node-credential-provider"

// Spec is everything an image build depends on. Two builds from equal Specs
// (and equal binaries) give the same digest.
type Spec struct {
	Platforms []platformBinary
	Name      string // image name without tag, for io.containerd.image.name in the archive
	Tag       string // org.opencontainers.image.ref.name in the layout
	Version   string
	Revision  string
	Source    string
	Created   time.Time // from SOURCE_DATE_EPOCH: every timestamp in the image
}

func runBuild(args []string, stdout io.Writer) error {
	fs := newFlagSet("build")
	var spec Spec
	var plats platformFlags
	fs.Var(&plats, "platform", "OS/ARCH=PATH of a static binary for that platform (repeat)")
	fs.StringVar(&spec.Name, "name", "ghcr.io/node-credential-provider/node-credential-provider", "image name (without tag) recorded in the archive")
	fs.StringVar(&spec.Tag, "tag", "", "tag recorded in the layout (default: --version with '+' made '-')")
	fs.StringVar(&spec.Version, "version", "", "org.opencontainers.image.version (required)")
	fs.StringVar(&spec.Revision, "revision", "", "org.opencontainers.image.revision: the source commit (required)")
	fs.StringVar(&spec.Source, "source", "https://github.com/node-credential-provider/node-credential-provider", "org.opencontainers.image.source")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "seconds since 1970 used for every timestamp (default $SOURCE_DATE_EPOCH; required)")
	layoutDir := fs.String("layout", "", "write the OCI image layout to this directory (replaced whole)")
	archive := fs.String("archive", "", "write the layout as one tar file here too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("build: unexpected argument %q", fs.Arg(0))
	}
	spec.Platforms = plats
	if spec.Tag == "" {
		spec.Tag = TagFor(spec.Version)
	}
	created, err := parseEpoch(*epoch)
	if err != nil {
		return err
	}
	spec.Created = created
	if *layoutDir == "" {
		return errors.New("build: --layout is required")
	}
	idx, err := Build(spec)
	if err != nil {
		return err
	}
	if err := WriteLayout(*layoutDir, idx, spec); err != nil {
		return err
	}
	if *archive != "" {
		if err := WriteArchive(*archive, *layoutDir, spec.Created); err != nil {
			return err
		}
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, d.String())
	return nil
}

func parseEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("build: SOURCE_DATE_EPOCH (or --source-date-epoch) is required, so that the digest is reproducible")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("build: SOURCE_DATE_EPOCH %q is not a non-negative number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// TagFor makes a version a valid tag: semver build metadata ("+abc") is not
// allowed in tags, so "+" becomes "-".
func TagFor(version string) string {
	b := []byte(version)
	for i, c := range b {
		if c == '+' {
			b[i] = '-'
		}
	}
	return string(b)
}

// Labels are the org.opencontainers.image.* keys, used both as the config's
// labels (what `docker inspect` and most scanners read) and as manifest and
// index annotations (what registries and OCI tools read).
func (s Spec) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "node-credential-provider",
		"org.opencontainers.image.description": "kubelet image credential provider answering from the node's docker and podman credentials; `install --root /host` puts it on a node",
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.revision":    s.Revision,
		"org.opencontainers.image.source":      s.Source,
		"org.opencontainers.image.url":         s.Source,
		"org.opencontainers.image.created":     s.Created.Format(time.RFC3339),
	}
}

// Build assembles the multi-platform index in memory.
func Build(s Spec) (v1.ImageIndex, error) {
	if len(s.Platforms) == 0 {
		return nil, errors.New("build: no --platform given")
	}
	if s.Version == "" || s.Revision == "" {
		return nil, errors.New("build: --version and --revision are required (they are the image's labels)")
	}
	var adds []mutate.IndexAddendum
	for _, p := range s.Platforms {
		img, err := platformImage(s, p)
		if err != nil {
			return nil, fmt.Errorf("build %s/%s: %w", p.os, p.arch, err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.os, Architecture: p.arch}},
		})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	return mutate.Annotations(idx, s.Labels()).(v1.ImageIndex), nil
}

func platformImage(s Spec, p platformBinary) (v1.Image, error) {
	bin, err := os.ReadFile(p.path)
	if err != nil {
		return nil, err
	}
	if err := checkExecutable(bin, p.os, p.arch); err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	layerTar, err := binaryLayer(bin, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: s.Created}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.arch,
		OS:           p.os,
		Created:      created,
		Config: v1.Config{
			Entrypoint: []string{BinaryPath},
			Env:        []string{"PATH=/usr/local/bin"},
			Labels:     s.Labels(),
			User:       "0:0", // install writes root-owned files on the host
			WorkingDir: "/",
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: created, CreatedBy: "ncp-image build: " + BinaryPath + " " + s.Version},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, s.Labels()).(v1.Image), nil
}

// checkExecutable refuses a binary for another platform than the one it is
// filed under: an arm64 image holding an amd64 binary fails only on the node.
func checkExecutable(b []byte, osName, arch string) error {
	if osName != "linux" {
		return fmt.Errorf("only linux images are built (got %s)", osName)
	}
	if len(b) < 20 || string(b[:4]) != "\x7fELF" || b[4] != 2 || b[5] != 1 {
		return errors.New("not a 64-bit little-endian ELF file")
	}
	machine := uint16(b[18]) | uint16(b[19])<<8
	want := map[string]uint16{"amd64": 62, "arm64": 183}
	w, ok := want[arch]
	if !ok {
		return fmt.Errorf("architecture %s is not supported (amd64, arm64)", arch)
	}
	if machine != w {
		return fmt.Errorf("ELF machine %d is not %s (%d)", machine, arch, w)
	}
	return nil
}

// binaryLayer is a tar holding the binary at BinaryPath and its parent
// directories, root-owned, every time stamp at created.
func binaryLayer(bin []byte, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: BinaryPath[1:], Mode: 0o755, Size: int64(len(bin)), ModTime: created, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes idx as an OCI image layout in dir, replacing whatever was
// there: it is built beside dir and renamed into place, so that blobs of an
// earlier build never linger in it. index.json holds one entry, the image
// index, named by its tag (org.opencontainers.image.ref.name, which skopeo's
// oci:DIR:TAG reads) and by its full name (io.containerd.image.name, which
// `ctr images import` and `docker load` read).
func WriteLayout(dir string, idx v1.ImageIndex, s Spec) error {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	anns := map[string]string{"org.opencontainers.image.ref.name": s.Tag}
	if s.Name != "" {
		anns["io.containerd.image.name"] = s.Name + ":" + s.Tag
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(anns)); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// WriteArchive writes the layout in dir as a tar file, entries in lexical
// order, root-owned, every time stamp at created, so that equal layouts give
// equal bytes. The file is written beside path and renamed into place.
func WriteArchive(path, dir string, created time.Time) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		hdr := &tar.Header{Name: name, ModTime: created, Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
			return tw.WriteHeader(hdr)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, info.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		default:
			return fmt.Errorf("%s: not a regular file or directory", p)
		}
	})
	if err != nil {
		return err
	}
	if err = tw.Close(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
