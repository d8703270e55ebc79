// Command ncp-image builds node-credential-provider's container image without a
// Docker daemon, and pushes it. It is its own module so that go-containerregistry
// never reaches the plugin binary's imports or the main go.mod.
//
//	ncp-image build --platform linux/amd64=BIN --platform linux/arm64=BIN \
//	    --version V --revision SHA --layout DIR --archive FILE
//	ncp-image push --layout DIR --to REGISTRY/REPO:TAG [--username U --password-stdin] [--ca-file CA]
//
// build writes an OCI image layout and the same layout as one tar file (an "OCI
// archive": `ctr images import`, `skopeo copy oci-archive:`, `podman load` and
// `docker load` read it). Everything in it is a function of its inputs and of
// SOURCE_DATE_EPOCH, so the index digest it prints is reproducible.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ncp-image:", err)
		os.Exit(1)
	}
}

const usage = `usage: ncp-image build|push [flags]; ncp-image build -h and ncp-image push -h list the flags`

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:], stdout)
	case "push":
		return runPush(args[1:], stdin, stdout)
	default:
		return fmt.Errorf("unknown command %q; %s", args[0], usage)
	}
}

// platformFlags collects repeated --platform OS/ARCH=PATH values in order.
type platformFlags []platformBinary

type platformBinary struct{ os, arch, path string }

func (p *platformFlags) String() string { return fmt.Sprint(*p) }

func (p *platformFlags) Set(v string) error {
	plat, path, ok := strings.Cut(v, "=")
	osName, arch, ok2 := strings.Cut(plat, "/")
	if !ok || !ok2 || osName == "" || arch == "" || path == "" || strings.Contains(arch, "/") {
		return fmt.Errorf("want OS/ARCH=PATH, e.g. linux/amd64=dist/node-credential-provider-linux-amd64; got %q", v)
	}
	for _, q := range *p {
		if q.os == osName && q.arch == arch {
			return fmt.Errorf("platform %s/%s given twice", osName, arch)
		}
	}
	*p = append(*p, platformBinary{os: osName, arch: arch, path: path})
	return nil
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ncp-image "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}
