package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOptions say where and how to push a layout's image index.
type PushOptions struct {
	Layout   string
	To       string
	Username string
	Password string // empty with Username empty: the docker config keychain answers
	CAFile   string
	// PlainHTTP allows http:// for the registry (a local test registry).
	PlainHTTP bool
	// Timeout bounds the whole push; 0 means DefaultPushTimeout.
	Timeout time.Duration
}

// DefaultPushTimeout bounds a push whose options name none: a registry that
// stalls fails the push instead of hanging it.
const DefaultPushTimeout = 10 * time.Minute

func runPush(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("push")
	var o PushOptions
	fs.StringVar(&o.Layout, "layout", "", "the OCI layout `ncp-image build` wrote (required)")
	fs.StringVar(&o.To, "to", "", "REGISTRY/REPOSITORY:TAG to push to (required)")
	fs.StringVar(&o.Username, "username", "", "registry user; the password comes from --password-stdin or --password-file. Without it, docker's config.json and its credential helpers answer")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	pwFile := fs.String("password-file", "", "read the password from the first line of this file")
	fs.StringVar(&o.CAFile, "ca-file", "", "PEM CA bundle to trust for the registry, besides the system's")
	fs.BoolVar(&o.PlainHTTP, "plain-http", false, "allow plain http to the registry")
	fs.DurationVar(&o.Timeout, "timeout", DefaultPushTimeout, "give up when the whole push takes longer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("push: unexpected argument %q", fs.Arg(0))
	}
	if *pwStdin && *pwFile != "" {
		return errors.New("push: --password-stdin and --password-file exclude each other")
	}
	if (*pwStdin || *pwFile != "") != (o.Username != "") {
		return errors.New("push: --username needs --password-stdin or --password-file, and they need --username")
	}
	var err error
	switch {
	case *pwStdin:
		o.Password, err = firstLine(stdin)
	case *pwFile != "":
		var f *os.File
		if f, err = os.Open(*pwFile); err == nil {
			o.Password, err = firstLine(f)
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("push: reading the password: %w", err)
	}
	ref, err := Push(o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, ref)
	return nil
}

func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 1<<20)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty password")
	}
	return line, nil
}

// LayoutIndex is the image index that `ncp-image build` put in a layout: the
// one entry of its index.json.
func LayoutIndex(dir string) (v1.ImageIndex, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("%s: want index.json with exactly one image index, as `ncp-image build` writes", dir)
	}
	return top.ImageIndex(m.Manifests[0].Digest)
}

// Push uploads the layout's index with every platform image, and returns the
// pushed reference with its digest.
func Push(o PushOptions) (string, error) {
	if o.Layout == "" || o.To == "" {
		return "", errors.New("push: --layout and --to are required")
	}
	var nopts []name.Option
	if o.PlainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(o.To, nopts...)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	idx, err := LayoutIndex(o.Layout)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	transport, err := transportFor(o.CAFile)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultPushTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ropts := []remote.Option{remote.WithTransport(transport), remote.WithContext(ctx)}
	if o.Username != "" {
		ropts = append(ropts, remote.WithAuth(&authn.Basic{Username: o.Username, Password: o.Password}))
	} else {
		ropts = append(ropts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if err := remote.WriteIndex(ref, idx, ropts...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

func transportFor(caFile string) (http.RoundTripper, error) {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if caFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}
