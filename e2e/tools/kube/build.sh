#!/usr/bin/env bash
# Builds Kubernetes binaries (and etcd) from the Go module proxy into a cache
# folder keyed by version, and skips any binary that is already there.
#
#   e2e/tools/kube/build.sh [TARGET...]   (default: kubelet)
#
# Targets: kubelet kube-apiserver etcd (the host e2e suite), and kubeadm
# kubectl kube-controller-manager kube-scheduler kube-proxy (with the first
# three, the kind node image: e2e/kind/node-image/build.sh).
#
# Prints the cache folder on the last line of stdout. The default GOCACHE and
# GOMODCACHE are used on purpose: a reused machine then relinks in seconds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# modversion MODULE: the version go.mod requires (in a block or on a require line).
modversion() {
  awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }' "$here/go.mod"
}
kube_version="$(modversion k8s.io/kubernetes)"
[ -n "$kube_version" ] || { echo "build.sh: no k8s.io/kubernetes in $here/go.mod" >&2; exit 1; }
out="${NCP_E2E_KUBE_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/node-credential-provider-e2e/$kube_version}"
mkdir -p "$out"

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(kubelet)

major="${kube_version#v}"; major="${major%%.*}"
minor="${kube_version#v*.}"; minor="${minor%%.*}"
ldflags="-s -w"
for v in gitVersion="$kube_version" gitMajor="$major" gitMinor="$minor" gitTreeState=clean; do
  ldflags="$ldflags -X k8s.io/component-base/version.$v"
done

for t in "${targets[@]}"; do
  case "$t" in
    kubelet | kube-apiserver | kubeadm | kubectl | kube-controller-manager | kube-scheduler | kube-proxy)
      pkg="k8s.io/kubernetes/cmd/$t"; version="$kube_version" ;;
    # etcd at the version Kubernetes' go.mod names; its module root is package main.
    etcd) pkg="go.etcd.io/etcd/server/v3"; version="$(modversion go.etcd.io/etcd/server/v3)" ;;
    *) echo "build.sh: unknown target $t (kubelet kube-apiserver etcd kubeadm kubectl kube-controller-manager kube-scheduler kube-proxy)" >&2; exit 2 ;;
  esac
  if [ -x "$out/$t" ]; then
    echo "build.sh: $t present in $out, not rebuilding" >&2
    continue
  fi
  echo "build.sh: building $t $version into $out (cold on 2 cores: kubelet ~9 min, kube-apiserver ~8 min more, etcd ~1.5 min; the five the kind node image adds ~6.5 min, ~2.5 min after the first two)" >&2
  start=$(date +%s)
  # Build to a temporary name and rename, so an interrupted build never leaves
  # a binary that a later run would take as done.
  (cd "$here" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
    go build -trimpath -ldflags "$ldflags" -o "$out/.$t.tmp" "$pkg")
  mv -f "$out/.$t.tmp" "$out/$t"
  echo "build.sh: built $t in $(( $(date +%s) - start ))s" >&2
done
echo "$out"
