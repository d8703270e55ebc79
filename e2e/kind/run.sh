#!/usr/bin/env bash
# make e2e-kind: the e2e cases against a real kind cluster.
#
#   e2e/kind/run.sh [go test flags, e.g. -run 'TestCases/wrong-password']
#
# Which docker, which node image:
#   - where `docker info` works and kind's published node image is there or
#     can be pulled (a laptop): that docker and kind's own image;
#   - otherwise (the project's CI machines: no docker, no image pulls): a
#     private dockerd (e2e/kind/docker.sh: Debian's docker.io with its own
#     data-root, exec-root, socket), a node image and a registry image built
#     offline (e2e/kind/node-image/build.sh, make kind-node-image); the
#     cluster and the registry are deleted and that dockerd is stopped at the
#     end, so nothing of the run stays up.
#   NCP_E2E_KIND_DOCKER=host|private forces one of them.
#
# Then:
# 1. fills /tmp/ncp-e2e-kind (the folder kind-config.yaml mounts into the
#    nodes): the plugin binary, the kubelet's initial provider config;
# 2. creates the kind cluster ncp-e2e with kind-config.yaml (kind from the
#    Go module proxy, at the version e2e/kind/go.mod requires);
# 3. starts the registry on the kind network (registry.sh);
# 4. runs the SAME cases as make e2e (go test -tags e2e ./e2e/...) with
#    NCP_E2E_KUBECONFIG set, so e2e/kind.go's KindCluster serves them.
# With host docker the cluster is kept for the next run unless
# NCP_E2E_KIND_DELETE=1; NCP_E2E_KIND_KEEP=1 keeps it (and the private
# dockerd) in either mode.
# Ends with a line "N passed, N failed"; a machine where kind cannot run
# fails with the reason, never skips.
# Needs: go, and either docker or root with apt-get (private mode installs
# docker.io, debootstrap, jq); the e2e suite's packages (e2e/install-deps.sh).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir=/tmp/ncp-e2e-kind # fixed: kind-config.yaml names it
cluster=ncp-e2e
node="${NCP_E2E_KIND_NODE:-$cluster-worker}"
cache="${NCP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-credential-provider-e2e}"

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
total="$(now)"
fail() { echo "e2e-kind: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
phase() {
  local name="$1"; shift
  local s; s="$(now)"
  if "$@"; then
    echo "e2e-kind: phase $name $(since "$s")s"
  else
    echo "e2e-kind: phase $name $(since "$s")s FAILED"
    fail "$name failed"
  fi
}
command -v go >/dev/null || fail "go is not installed"
modversion() { awk -v m="$2" '{ for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }' "$1"; }
kind_version="$(modversion "$here/go.mod" sigs.k8s.io/kind)"

# The e2e suite's packages: registry tools, umoci/skopeo, busybox-static...
if [ "$(id -u)" -eq 0 ]; then
  phase install-deps "$repo/e2e/install-deps.sh"
fi

# kind itself: the pinned version, built once into the cache.
kind_bin="$cache/kind/tools/kind-$kind_version"
install_kind() {
  [ -x "$kind_bin/kind" ] && return
  mkdir -p "$kind_bin.tmp"
  GOBIN="$kind_bin.tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags '-s -w' "sigs.k8s.io/kind@$kind_version" &&
    rm -rf "$kind_bin" && mv "$kind_bin.tmp" "$kind_bin"
}
phase kind-cli install_kind
export PATH="$kind_bin:$PATH"

# Which docker.
default_image="$(sed -n 's/^const Image = "\(.*\)"/\1/p' \
  "$(cd "$here" && go list -m -f '{{.Dir}}' sigs.k8s.io/kind)/pkg/apis/config/defaults/image.go" 2>/dev/null)"
mode="${NCP_E2E_KIND_DOCKER:-}"
if [ -z "$mode" ]; then
  mode=private
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    if [ -n "$default_image" ] && { docker image inspect "$default_image" >/dev/null 2>&1 ||
      docker pull "$default_image" >/dev/null 2>&1; }; then
      mode=host
    else
      echo "e2e-kind: docker works here but cannot pull $default_image: using a private dockerd and a node image built here"
    fi
  fi
fi
case "$mode" in
  host) echo "e2e-kind: docker ${DOCKER_HOST:-(default)}, kind $kind_version, node image ${NCP_E2E_KIND_IMAGE:-$default_image}" ;;
  private)
    [ "$(id -u)" -eq 0 ] || fail "no usable docker here, and a private one needs root (run as root, or give docker access)"
    docker_env="$("$here/docker.sh" start)" || fail "could not start a private dockerd (e2e/kind/docker.sh)"
    while IFS= read -r kv; do export "${kv?}"; done <<<"$docker_env"
    cleanup_private() {
      if [ "${NCP_E2E_KIND_KEEP:-0}" = 1 ]; then
        echo "e2e-kind: NCP_E2E_KIND_KEEP=1: cluster and private dockerd left running (DOCKER_HOST=$DOCKER_HOST; e2e/kind/docker.sh stop)"
        return
      fi
      kind delete cluster --name "$cluster" >/dev/null 2>&1
      docker rm -f ncp-e2e-registry >/dev/null 2>&1
      "$here/docker.sh" stop
    }
    trap cleanup_private EXIT
    images="$(mktemp)"
    phase kind-node-image bash -c "'$here/node-image/build.sh' >'$images'"
    NCP_E2E_KIND_IMAGE="$(sed -n 's/^NODE_IMAGE=//p' "$images")"
    NCP_E2E_REGISTRY_IMAGE="$(sed -n 's/^REGISTRY_IMAGE=//p' "$images")"
    rm -f "$images"
    # Without them kind would drop --image and try to pull its published one.
    [ -n "$NCP_E2E_KIND_IMAGE" ] && [ -n "$NCP_E2E_REGISTRY_IMAGE" ] ||
      fail "node-image/build.sh named no NODE_IMAGE or REGISTRY_IMAGE"
    export NCP_E2E_KIND_IMAGE NCP_E2E_REGISTRY_IMAGE
    # kubectl at the cluster's version (the node image's own build), never
    # whatever kubectl the machine has.
    mkdir -p "$dir/bin"
    kube_bin="$("$repo/e2e/tools/kube/build.sh" kubectl | tail -1)" || fail "building kubectl failed"
    [ -x "$kube_bin/kubectl" ] || fail "no kubectl in $kube_bin"
    ln -sf "$kube_bin/kubectl" "$dir/bin/kubectl"
    export PATH="$dir/bin:$PATH"
    # A cluster left by an interrupted run is not trusted.
    kind delete cluster --name "$cluster" >/dev/null 2>&1
    docker rm -f ncp-e2e-registry >/dev/null 2>&1
    echo "e2e-kind: private dockerd ($DOCKER_HOST), kind $kind_version, node image $NCP_E2E_KIND_IMAGE"
    ;;
  *) fail "NCP_E2E_KIND_DOCKER=$mode: want host or private" ;;
esac
# From here on, however the run ends (a failed phase, a failed test, an
# interrupt): the private dockerd goes, and with NCP_E2E_KIND_DELETE=1 (make
# test) so do a host docker's cluster and registry.
summary=""
on_exit() {
  [ -z "$summary" ] || rm -f "$summary"
  if [ "$mode" = private ]; then
    cleanup_private
  elif [ "${NCP_E2E_KIND_DELETE:-0}" = 1 ] && [ "${NCP_E2E_KIND_KEEP:-0}" != 1 ]; then
    kind delete cluster --name "$cluster" >/dev/null 2>&1
    docker rm -f ncp-e2e-registry >/dev/null 2>&1
  fi
}
trap on_exit EXIT

for bin in docker kind kubectl openssl htpasswd curl umoci skopeo; do
  command -v "$bin" >/dev/null || fail "$bin is not installed"
done
[ -x /bin/busybox ] || fail "/bin/busybox (busybox-static) is not installed"

phase plugin-build make -C "$repo" --no-print-directory build
mkdir -p "$dir/provider-bin" "$dir/provider-config" "$dir/files" "$dir/certs.d"
install -m 0755 "$repo/bin/node-credential-provider" "$dir/provider-bin/node-credential-provider"

kubeconfig="$dir/kubeconfig"
create_cluster() {
  # A new cluster starts from the initial provider config (the cases
  # replace it); its --docker-config file must parse.
  rm -f "$dir"/provider-config/*
  cp "$here/credential-provider-config.yaml" "$dir/provider-config/"
  [ -f "$dir/files/config.json" ] || echo '{"auths": {}}' >"$dir/files/config.json"
  kind create cluster --config "$here/kind-config.yaml" --kubeconfig "$kubeconfig" --wait 2m \
    ${NCP_E2E_KIND_IMAGE:+--image "$NCP_E2E_KIND_IMAGE"}
}
if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  phase kind-create-cluster create_cluster
else
  echo "e2e-kind: reusing the kind cluster $cluster"
  kind get kubeconfig --name "$cluster" >"$kubeconfig" || fail "kind get kubeconfig failed"
fi
phase registry "$here/registry.sh" "$dir"

summary="$(mktemp)"
s="$(now)"
(cd "$repo" && NCP_E2E_KUBECONFIG="$kubeconfig" NCP_E2E_KIND_NODE="$node" NCP_E2E_KIND_DIR="$dir" \
  NCP_E2E_PLUGIN="$dir/provider-bin/node-credential-provider" NCP_E2E_SUMMARY="$summary" \
  go test -tags e2e -count=1 -v -timeout "${NCP_E2E_TIMEOUT:-30m}" ./e2e/... "$@")
rc=$?
echo "e2e-kind: phase go-test $(since "$s")s"
echo "e2e-kind: total $(since "$total")s"
line="$(cat "$summary" 2>/dev/null)"
[ -n "$line" ] || { line="0 passed, 1 failed"; [ "$rc" -ne 0 ] || rc=1; }
echo "$line"
exit "$rc"
