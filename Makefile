# node-credential-provider. `make demo` shows it working; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := build

BIN      := bin/node-credential-provider
PKG      := ./cmd/node-credential-provider
GO       ?= go
export CGO_ENABLED := 0
export GOFLAGS := -buildvcs=false

COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION  ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.1.0-dev+$(COMMIT))
BUILT    := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
# The version is stamped into plain variables of package main (cmd/node-credential-provider/version.go), not
# k8s.io/component-base/version, whose init costs every plugin run (README, Measured).
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILT)

.PHONY: build demo test unit lint e2e e2e-kind kind-node-image kind-config keyring-parity bench fuzz kubectl-golden clean

## build: a static, stripped, version-stamped binary in bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

## demo: the plugin answering kubelet requests from a sample docker config
demo: build
	scripts/demo.sh $(BIN)

## test: formatting, vet, unit tests, the demo, the end-to-end suite, matching against the kubelet's keyring, the kind
## config, then the same end-to-end cases against a real kind cluster (deleted at the end)
test: lint unit keyring-parity kind-config demo e2e
	NCP_E2E_KIND_DELETE=1 $(MAKE) --no-print-directory e2e-kind

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

## unit: unit tests, with the packages the real credential-helper test needs
unit:
	scripts/install-test-deps.sh
	$(GO) test -count=1 ./...

## fuzz: every fuzz target for FUZZTIME each (a crasher lands in the package's testdata/fuzz/)
FUZZTIME ?= 10s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

## kubectl-golden: remake the testdata/kubectl/ files, kubectl's own output, that the kubectl comparisons use where
## kubectl is not on PATH (needs kubectl; see internal/kubectltest). Commit them with the kubectl version they record.
KUBECTL_GOLDEN_PKGS = $(shell grep -rl --include='*_test.go' 'kubectltest\.Output' . | xargs -n1 dirname | sort -u)
kubectl-golden:
	NCP_KUBECTL_GOLDEN=update $(GO) test -count=1 $(KUBECTL_GOLDEN_PKGS)

## e2e: a real kubelet, containerd and password-protected registry on this machine
e2e: build
	e2e/run.sh

## keyring-parity: our answers against the kubelet's own keyring code (e2e/tools/kube, its own module).
## -trimpath and -mod=mod as in tools/kube/build.sh: the kubelet's build cache serves it, and a dependency
## the plugin gained on main gets its go.sum lines instead of failing the run.
keyring-parity:
	cd e2e/tools/kube && GOFLAGS="$(GOFLAGS) -mod=mod" $(GO) test -trimpath -count=1 ./...

## e2e-kind: the same e2e cases against a real kind cluster: a laptop's docker and kind's published node image, or,
## where there is no docker that can pull (CI), a private dockerd and a node image built offline (e2e/kind/run.sh)
e2e-kind:
	e2e/kind/run.sh

## kind-node-image: the offline kind node image and registry image (e2e/kind/node-image/build.sh); e2e-kind builds
## them when it needs them
kind-node-image:
	e2e/kind/node-image/build.sh

## kind-config: e2e/kind/kind-config.yaml decoded with kind's own types, mounts and flags lined up
kind-config:
	cd e2e/kind && $(GO) test -count=1 ./...

## bench: per-process timings against a floor binary and the ECR peer (built once from the Go module proxy into
## ~/.cache/node-credential-provider-bench), per-package init costs, the burst, export vs kubectl, Go benchmarks.
## Prints each target and whether it was met; it never fails on a missed target (BENCHRUNS: interleaved runs).
## BENCHBASE=REV adds a row for our binary built at git revision REV (e.g. main), to show a change costs nothing.
BENCHRUNS ?= 300
BENCHBASE ?=
bench:
	scripts/install-test-deps.sh
	$(GO) test -run '^$$' -bench . -benchmem ./provider/match ./provider/plugin ./cache
	$(GO) run ./cmd/ncp-bench -runs $(BENCHRUNS) -ldflags '$(LDFLAGS)' $(if $(BENCHBASE),-base '$(BENCHBASE)')

clean:
	rm -rf bin
