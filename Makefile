# node-credential-provider. `make demo` shows it working; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := build

BIN      := bin/node-credential-provider
PKG      := ./cmd/node-credential-provider
GO       ?= go
export CGO_ENABLED := 0
export GOFLAGS := -buildvcs=false

COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION  ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.1.0-dev+$(COMMIT))
# Every time stamp we write (the binary's buildDate, the image's) is the last commit's, or SOURCE_DATE_EPOCH
# when set: two builds of one commit are then byte for byte the same (https://reproducible-builds.org).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
BUILT    := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r $(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
# The version is stamped into plain variables of package main (cmd/node-credential-provider/version.go), not
# k8s.io/component-base/version, whose init costs every plugin run (README, Measured).
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILT)

# Our binaries are built with Go 1.26's opt-out of the Green Tea GC. A plugin run ends before any collection, but
# Green Tea initialises inline mark bits at the end of each small-object span as the span is first used, touching a
# page the run would not: about 30 of its ~330 page faults, 0.1x of the floor in wall time (README, Measured).
# Go 1.27 drops the opt-out; a build there fails on it until someone measures again.
BIN_GOEXPERIMENT := nogreenteagc

DIST     := dist
# release: one binary per platform. Windows runs only files with an extension it knows, and the kubelet's
# exec.LookPath(<bin dir>/<provider name>) finds node-credential-provider.exe there by PATHEXT: keep the .exe.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 windows/amd64
release_bin = $(DIST)/release/node-credential-provider-$(subst /,-,$(1))$(if $(findstring windows,$(1)),.exe)
RELEASE_BINS := $(foreach p,$(RELEASE_PLATFORMS),$(call release_bin,$(p)))
# image: the linux binaries of the release in an OCI image, built without a Docker daemon (tools/image).
IMAGE     ?= ghcr.io/node-credential-provider/node-credential-provider
IMAGE_TAG ?= $(subst +,-,$(VERSION))
IMAGE_PLATFORMS := linux/amd64 linux/arm64
NCP_IMAGE := bin/ncp-image

.PHONY: build demo test unit lint e2e e2e-kind kind-node-image kind-config keyring-parity bench fuzz fuzz-parity kubectl-golden clean release image \
        image-push image-check cross FORCE

## build: a static, stripped, version-stamped binary in bin/
build:
	GOEXPERIMENT=$(BIN_GOEXPERIMENT) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

## demo: the plugin answering kubelet requests from a sample docker config
demo: build
	scripts/demo.sh $(BIN)

## test: formatting, vet, unit tests, the windows/arm64 vet and test build, the release binaries, the demo, the end-to-end suite, the parity tests against the kubelet's and containers/image's own code, the kind config,
## the image's tests and reproducibility, then the same end-to-end cases against a real kind cluster (deleted at the end)
test: lint unit cross release image-check keyring-parity kind-config demo e2e
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

## fuzz-parity: e2e/tools/kube's fuzz targets (NormalizeImage against distribution/reference) for FUZZTIME each.
## The first run compiles the kubelet's dependencies with fuzzing instrumentation: many minutes, once.
fuzz-parity:
	cd e2e/tools/kube && GOFLAGS="$(GOFLAGS) -mod=mod -trimpath" FUZZTIME=$(FUZZTIME) GO=$(GO) ../../../scripts/fuzz.sh .

## kubectl-golden: remake the testdata/kubectl/ files, kubectl's own output, that the kubectl comparisons use where
## kubectl is not on PATH (needs kubectl; see internal/kubectltest). Commit them with the kubectl version they record.
KUBECTL_GOLDEN_PKGS = $(shell grep -rl --include='*_test.go' 'kubectltest\.Output' . | xargs -n1 dirname | sort -u)
kubectl-golden:
	NCP_KUBECTL_GOLDEN=update $(GO) test -count=1 $(KUBECTL_GOLDEN_PKGS)

## e2e: a real kubelet, containerd and password-protected registry on this machine
e2e: build
	e2e/run.sh

## keyring-parity: our code against the code it must agree with (e2e/tools/kube, its own module): answers against the kubelet's
## keyring, validate against the kubelet's config loader, podman auth.json against containers/image, images against
## distribution/reference.
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
	$(GO) run ./cmd/ncp-bench -runs $(BENCHRUNS) -ldflags '$(LDFLAGS)' -goexperiment '$(BIN_GOEXPERIMENT)' $(if $(BENCHBASE),-base '$(BENCHBASE)')

## release: node-credential-provider-<os>-<arch> for $(RELEASE_PLATFORMS) in dist/release, with SHA256SUMS;
## the linux/amd64 one must answer the demo's requests here
release: $(RELEASE_BINS)
	cd $(DIST)/release && sha256sum $(notdir $(RELEASE_BINS)) > SHA256SUMS
	scripts/demo.sh $(call release_bin,linux/amd64) >/dev/null
	@cat $(DIST)/release/SHA256SUMS

# One rule per platform binary; go build's own cache makes a rebuild cheap, so it always runs (FORCE).
$(DIST)/release/node-credential-provider-%: FORCE
	@mkdir -p $(@D)
	GOOS=$(word 1,$(subst -, ,$(basename $*))) GOARCH=$(word 2,$(subst -, ,$(basename $*))) \
	  GOEXPERIMENT=$(BIN_GOEXPERIMENT) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ $(PKG)

$(NCP_IMAGE): FORCE
	cd tools/image && $(GO) build -trimpath -o ../../$(NCP_IMAGE) .

## image: OCI image $(IMAGE):$(IMAGE_TAG) for $(IMAGE_PLATFORMS) as an OCI layout (dist/image/oci) and one tar
## file (dist/image/node-credential-provider.oci.tar); prints the index digest, the same for the same commit
image: $(NCP_IMAGE) $(foreach p,$(IMAGE_PLATFORMS),$(call release_bin,$(p)))
	@mkdir -p $(DIST)/image
	$(NCP_IMAGE) build $(foreach p,$(IMAGE_PLATFORMS),--platform $(p)=$(call release_bin,$(p))) \
	  --name $(IMAGE) --tag $(IMAGE_TAG) --version $(VERSION) --revision $(REVISION) \
	  --layout $(DIST)/image/oci --archive $(DIST)/image/node-credential-provider.oci.tar > $(DIST)/image/digest
	@echo "$(IMAGE):$(IMAGE_TAG)@$$(cat $(DIST)/image/digest)"

## image-push: push the image to IMAGE_REF (default $(IMAGE):$(IMAGE_TAG)); PUSH_FLAGS takes ncp-image push's
## --username/--password-stdin/--password-file/--ca-file/--plain-http (without them, docker's config answers)
IMAGE_REF ?= $(IMAGE):$(IMAGE_TAG)
image-push: image
	$(NCP_IMAGE) push --layout $(DIST)/image/oci --to $(IMAGE_REF) $(PUSH_FLAGS)

## cross: for windows/amd64 and linux/arm64, go vet and every unit test compiled and linked (go test -c). They
## cannot run here: no Windows or arm64 machine, and Debian's wine (8.0) lacks the bcryptprimitives.dll Go needs.
CROSS_PLATFORMS := windows/amd64 linux/arm64
cross:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; for p in $(CROSS_PLATFORMS); do \
	  echo "GOOS=$${p%/*} GOARCH=$${p#*/} go vet ./... && go test -c ./..."; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./...; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) test -c -o "$$tmp/" ./...; \
	  echo "  $$(ls "$$tmp" | wc -l) test binaries"; rm -f "$$tmp"/*; \
	done

## image-check: the image's unit tests, and `make image` from two clones of HEAD gives the same digest
image-check:
	cd tools/image && $(GO) vet ./... && $(GO) test -count=1 ./...
	scripts/image-repro.sh

clean:
	rm -rf bin $(DIST)
