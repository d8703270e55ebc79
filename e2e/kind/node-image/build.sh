#!/usr/bin/env bash
# make kind-node-image: a kind node image for the Kubernetes version of
# e2e/tools/kube/go.mod, built offline (no image is pulled), and the registry
# image e2e/kind/registry.sh runs. Needs root and a docker (DOCKER_HOST;
# e2e/kind/run.sh starts a private one with e2e/kind/docker.sh).
#
#   e2e/kind/node-image/build.sh      prints NODE_IMAGE=... and REGISTRY_IMAGE=...
#
# What goes in, in the order kind's own images/base/Dockerfile puts it:
#   - a Debian rootfs by debootstrap (bookworm, minbase) with the packages of
#     kind's base Dockerfile that Debian has, plus runc, pass and gnupg;
#   - kind's base files (entrypoint, systemd units, kubelet drop-ins,
#     containerd config.toml) from the sigs.k8s.io/kind module source, at the
#     version e2e/kind/go.mod requires;
#   - containerd 2.x, ctr and the runc shim, crictl and CNI plugins, built
#     from the Go module proxy;
#   - kubeadm, kubelet, kubectl (e2e/tools/kube/build.sh) and the control
#     plane's images built from our binaries, imported into the node's
#     containerd as kind's node image build does;
#   - docker-credential-pass, copied from the host's Debian package (its
#     package cannot be configured inside the rootfs: gnome-keyring).
# Not in it, against kind's image: kindnetd (a static bridge conflist takes
# its place), CoreDNS (nothing the cases do resolves in-cluster names; its
# pods stay in ErrImagePull), local-path-provisioner (kind falls back to its
# host-path StorageClass), nfs-common and open-iscsi (storage tests).
#
# Two settings differ from kind's image, for hosts like the project's CI
# (cgroup v1, no CAP_SYS_RESOURCE): containerd's restrict_oom_score_adj =
# true and the kubelet's --fail-cgroupv1=false (in /etc/default/kubelet).
#
# Every step keeps its output under the cache folder and is skipped when that
# output is current; the images carry a label with the hash of all inputs,
# so a warm run only hashes and compares.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cache="${NCP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-credential-provider-e2e}/kind"
mkdir -p "$cache"

containerd_version=v2.3.4
crictl_version=v1.37.0
cni_version=v1.9.1
suite=bookworm
mirror="${NCP_E2E_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# kind's images/base/Dockerfile package list (Debian has them all), minus
# nfs-common and open-iscsi; plus runc (kind builds its own), pass, gnupg.
packages=(systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz
  fuse-overlayfs e2fsprogs bash ca-certificates curl jq procps runc pass gnupg)

say() { echo "node-image: $*" >&2; }
die() { say "$*"; exit 1; }
t0=$(date +%s)
step() { say "[$(( $(date +%s) - t0 ))s] $*"; }
# sha FILE...: one hash of the files' contents (not their paths: a fresh clone
# elsewhere, or the same binaries in another folder, hash the same).
sha() { sha256sum "$@" | cut -d' ' -f1 | sha256sum | cut -c1-16; }
strsha() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, and files owned by root in the image)"
# Debian packages the build uses: debootstrap, jq (cri-base.json), gcc and
# libc6-dev (a static pause), golang-docker-credential-helpers (its
# docker-credential-pass goes into the image), docker-registry (the registry
# image's binary).
need=()
for p in debootstrap jq gcc libc6-dev golang-docker-credential-helpers docker-registry; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${need[*]}, and no apt-get"
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 ||
    die "apt-get install ${need[*]} failed"
fi
for bin in go gcc jq debootstrap; do
  command -v "$bin" >/dev/null || die "$bin is not installed"
done
[ -x /usr/bin/docker-credential-pass ] || die "docker-credential-pass is missing (Debian golang-docker-credential-helpers)"
modversion() { # FILE MODULE
  awk -v m="$2" '{ for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }' "$1"
}
kube_version="$(modversion "$repo/e2e/tools/kube/go.mod" k8s.io/kubernetes)"
kind_version="$(modversion "$repo/e2e/kind/go.mod" sigs.k8s.io/kind)"
[ -n "$kube_version" ] && [ -n "$kind_version" ] || die "no k8s.io/kubernetes or sigs.k8s.io/kind version in the go.mod files"
node_image="${NCP_E2E_KIND_NODE_IMAGE:-ncp-e2e.local/kind-node:$kube_version}"
registry_image="${NCP_E2E_KIND_REGISTRY_IMAGE:-ncp-e2e.local/registry:2}"

moddir() { (cd "$repo/e2e/tools/kube" && GOFLAGS=-mod=mod go mod download -json "$1" | jq -r .Dir); }

# 1. The Debian rootfs, with kind's clean-up of its base Dockerfile. It
# waits on the network and dpkg, the Go builds below on the CPU: it runs in
# the background while they do.
# Bump rootfs_recipe when the rootfs steps below change (the key does not
# hash this script: an edit elsewhere in it must not redo debootstrap).
rootfs_recipe=1
rootfs_key="$(strsha "$rootfs_recipe" "$suite" "$mirror" "${packages[@]}")"
rootfs_tar="$cache/rootfs-$suite-$rootfs_key.tar"
rootfs_dir="$cache/rootfs.tmp"
unmount_rootfs() { for m in proc sys dev/pts dev; do umount "$rootfs_dir/$m" 2>/dev/null || true; done; }
build_rootfs() {
  local dir="$rootfs_dir"
  unmount_rootfs
  rm -rf "$dir"
  mkdir -p "$cache/debs" # downloaded .debs, kept: a changed package list downloads only what is new
  debootstrap --cache-dir="$cache/debs" --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
    "$suite" "$dir" "$mirror" || { unmount_rootfs; return 1; }
  unmount_rootfs
  # kind's base Dockerfile, after installing packages.
  find "$dir/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$dir"/lib/systemd/system/multi-user.target.wants/* "$dir"/etc/systemd/system/*.wants/* \
    "$dir"/lib/systemd/system/local-fs.target.wants/* "$dir"/lib/systemd/system/sockets.target.wants/*udev* \
    "$dir"/lib/systemd/system/sockets.target.wants/*initctl* "$dir"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$dir/etc/systemd/journald.conf"
  ln -sf /usr/lib/systemd/systemd "$dir/sbin/init"
  mkdir -p "$dir/etc/kubernetes/manifests"
  # What the image need not carry: package caches, the host's resolver.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir/etc/machine-id" "$dir/etc/resolv.conf"
  : >"$dir/etc/machine-id"
  tar -C "$dir" --numeric-owner -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar" && rm -rf "$dir"
}
rootfs_pid=
if [ ! -f "$rootfs_tar" ]; then
  step "debootstrap $suite in the background (cold: ~4 min; log $cache/debootstrap.log)"
  build_rootfs >"$cache/debootstrap.log" 2>&1 &
  rootfs_pid=$!
fi
# On any exit: no debootstrap left running or mounted, no temporary
# containerd or build context left, the private dockerd stopped if this
# script started it.
cpid= run= ctx=
on_exit() {
  if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
    kill "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
  fi
  [ -z "$run" ] || rm -rf "$run"
  [ -z "$ctx" ] || rm -rf "$ctx"
  if [ -n "$rootfs_pid" ] && kill -0 "$rootfs_pid" 2>/dev/null; then
    pkill -TERM -P "$rootfs_pid" 2>/dev/null || true
    kill "$rootfs_pid" 2>/dev/null || true
    wait "$rootfs_pid" 2>/dev/null || true
    unmount_rootfs
  fi
  [ -z "${env_lines:-}" ] || "$here/../docker.sh" stop
}
trap on_exit EXIT

if ! docker version >/dev/null 2>&1; then
  # make kind-node-image on its own: the private dockerd, for this build only
  # (the images stay in its data-root, where e2e/kind/run.sh finds them).
  say "no docker answers (DOCKER_HOST=${DOCKER_HOST:-unset}): starting the private one (e2e/kind/docker.sh)"
  env_lines="$("$here/../docker.sh" start)" || die "could not start the private dockerd"
  while IFS= read -r kv; do export "${kv?}"; done <<<"$env_lines"
fi

# 2. Go-built parts of the base: containerd, crictl, CNI plugins.
tools="$cache/tools/containerd-$containerd_version-crictl-$crictl_version-cni-$cni_version"
if [ ! -x "$tools/crictl" ]; then
  step "building containerd $containerd_version, crictl $crictl_version, CNI plugins $cni_version (cold: ~3 min)"
  rm -rf "$tools.tmp" && mkdir -p "$tools.tmp"
  gi() { GOBIN="$tools.tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags '-s -w' "$@"; }
  gi -tags 'no_btrfs no_devmapper no_zfs no_aufs' \
    "github.com/containerd/containerd/v2/cmd/containerd@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/ctr@$containerd_version"
  gi $(for p in main/bridge main/ptp main/loopback ipam/host-local meta/portmap; do
    echo "github.com/containernetworking/plugins/plugins/$p@$cni_version"; done)
  gi "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version" # last: its presence marks the folder done
  rm -rf "$tools" && mv "$tools.tmp" "$tools"
fi

# 3. Our Kubernetes binaries.
step "Kubernetes $kube_version binaries (e2e/tools/kube/build.sh)"
kube_targets=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd)
kubebin="$("$repo/e2e/tools/kube/build.sh" "${kube_targets[@]}" | tail -1)"

if [ -n "$rootfs_pid" ]; then
  step "waiting for debootstrap"
  wait "$rootfs_pid" || die "debootstrap failed: $(tail -5 "$cache/debootstrap.log")"
  rootfs_pid=
fi
base_image="ncp-e2e.local/kind-base:$rootfs_key"
if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  step "docker import $base_image"
  docker import "$rootfs_tar" "$base_image" >/dev/null
fi

# has_label IMAGE KEY: IMAGE exists and was built from inputs hashing to KEY.
has_label() {
  [ "$(docker image inspect --format '{{ index .Config.Labels "io.ncp-e2e.inputs" }}' "$1" 2>/dev/null)" = "$2" ]
}

# 4. The registry image: Debian's docker-registry (distribution 2.8) on the base.
reg_key="$(strsha "$rootfs_key" "$(sha /usr/bin/docker-registry "$here/registry-config.yml" "$0")")"
if ! has_label "$registry_image" "$reg_key"; then
  step "building $registry_image"
  ctx="$(mktemp -d)"
  cp /usr/bin/docker-registry "$ctx/registry"
  cp "$here/registry-config.yml" "$ctx/config.yml"
  cat >"$ctx/Dockerfile" <<EOF
FROM $base_image
COPY registry /bin/registry
COPY config.yml /etc/docker/registry/config.yml
VOLUME ["/var/lib/registry"]
EXPOSE 5000
LABEL io.ncp-e2e.inputs=$reg_key
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
EOF
  DOCKER_BUILDKIT=0 docker build -q -t "$registry_image" "$ctx" >/dev/null
  rm -rf "$ctx"
  ctx=
fi

# 5. The node image.
kindsrc="$(moddir "sigs.k8s.io/kind@$kind_version")"
[ -d "$kindsrc/images/base/files" ] || die "no images/base/files in sigs.k8s.io/kind@$kind_version ($kindsrc)"
kubesrc="$(moddir "k8s.io/kubernetes@$kube_version")"
node_key="$(strsha "$rootfs_key" "$kind_version" "$(sha "$0" "$here"/10-ncp-bridge.conflist "$here"/default-cni.yaml \
  "$tools"/* /usr/bin/docker-credential-pass "${kube_targets[@]/#/$kubebin/}" \
  $(find "$kindsrc/images/base/files" -type f | sort) "$kubesrc/build/pause/linux/pause.c")")"
if has_label "$node_image" "$node_key"; then
  step "$node_image is current"
else
  step "assembling $node_image"
  stage="$cache/node.tmp"
  rm -rf "$stage" && mkdir -p "$stage/root"
  r="$stage/root"
  f="$kindsrc/images/base/files"
  # kind's COPY lines: scripts and folders 0755, other files 0644.
  install -D -m 0755 -t "$r/usr/local/bin" "$f"/usr/local/bin/*
  mkdir -p "$r/kind/bin" "$r/LICENSES" "$r/etc/containerd" "$r/etc/default" "$r/etc/sysctl.d" \
    "$r/etc/systemd/system/kubelet.service.d"
  install -m 0644 "$f"/kind/README.txt "$r/kind/"
  install -m 0755 "$f"/kind/bin/* "$r/kind/bin/"
  install -m 0644 "$f"/LICENSES/* "$r/LICENSES/"
  install -m 0644 "$f"/etc/crictl.yaml "$r/etc/"
  install -m 0644 "$f"/etc/containerd/* "$r/etc/containerd/"
  install -m 0644 "$f"/etc/default/* "$r/etc/default/"
  install -m 0644 "$f"/etc/sysctl.d/* "$r/etc/sysctl.d/"
  install -m 0644 "$f"/etc/systemd/system/*.service "$f"/etc/systemd/system/*.slice "$r/etc/systemd/system/"
  install -m 0644 "$f"/etc/systemd/system/kubelet.service.d/* "$r/etc/systemd/system/kubelet.service.d/"
  # This machine's two differences (see the top).
  grep -q 'restrict_oom_score_adj = false' "$r/etc/containerd/config.toml" || die "kind's config.toml has no restrict_oom_score_adj = false"
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$r/etc/containerd/config.toml"
  grep -q '^KUBELET_EXTRA_ARGS=' "$r/etc/default/kubelet" || die "kind's /etc/default/kubelet has no KUBELET_EXTRA_ARGS"
  sed -i 's/^KUBELET_EXTRA_ARGS=.*/& --fail-cgroupv1=false/' "$r/etc/default/kubelet"
  # systemctl enable kubelet containerd undo-mount-hacks; mask systemd-binfmt.
  mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
  for u in kubelet containerd undo-mount-hacks; do
    ln -s "/etc/systemd/system/$u.service" "$r/etc/systemd/system/multi-user.target.wants/$u.service"
  done
  ln -s /dev/null "$r/etc/systemd/system/systemd-binfmt.service"
  # containerd, runc's shim, ctr, crictl, CNI plugins.
  install -m 0755 "$tools"/{containerd,containerd-shim-runc-v2,ctr,crictl} "$r/usr/local/bin/"
  mkdir -p "$r/opt/cni/bin" "$r/etc/cni/net.d" "$r/kind/manifests"
  install -m 0755 "$tools"/{bridge,ptp,loopback,host-local,portmap} "$r/opt/cni/bin/"
  install -m 0644 "$here/10-ncp-bridge.conflist" "$r/etc/cni/net.d/"
  install -m 0644 "$here/default-cni.yaml" "$r/kind/manifests/default-cni.yaml"
  "$tools/ctr" oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
    jq 'del(.process.rlimits)' >"$r/etc/containerd/cri-base.json"
  # Kubernetes: kind puts its binaries in /usr/bin.
  mkdir -p "$r/usr/bin"
  install -m 0755 "$kubebin"/{kubeadm,kubelet,kubectl} "$r/usr/bin/"
  printf '%s' "$kube_version" >"$r/kind/version"
  install -m 0755 /usr/bin/docker-credential-pass "$r/usr/local/bin/"

  # The control plane's images, from our binaries, under kubeadm's names.
  step "control-plane images"
  mapfile -t wanted < <("$kubebin/kubeadm" config images list --kubernetes-version "$kube_version" 2>/dev/null)
  [ "${#wanted[@]}" -gt 0 ] || die "kubeadm config images list printed nothing"
  sandbox="$(sed -n 's/^ *sandbox_image *= *"\(.*\)"/\1/p' "$r/etc/containerd/config.toml")"
  gcc -static -O2 -DVERSION="$kube_version-ncp-e2e" -o "$stage/pause" "$kubesrc/build/pause/linux/pause.c"
  archives=()
  # image REF FROM-DIR [ENTRYPOINT]: docker import a folder, save it for ctr.
  image() {
    local ref="$1" src="$2" ep="${3:-}" out
    out="$stage/$(echo "$ref" | tr '/:' '__').tar"
    local change=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
    [ -z "$ep" ] || change+=(--change "ENTRYPOINT [\"$ep\"]")
    tar -C "$src" --numeric-owner --owner=0 --group=0 -c . | docker import "${change[@]}" - "$ref" >/dev/null
    docker save -o "$out" "$ref"
    archives+=("$out")
  }
  extra_tags=()
  for ref in "${wanted[@]}"; do
    name="${ref##*/}"; name="${name%%:*}"
    d="$stage/img-$name"
    mkdir -p "$d/usr/local/bin"
    case "$name" in
      kube-apiserver | kube-controller-manager | kube-scheduler | etcd)
        install -m 0755 "$kubebin/$name" "$d/usr/local/bin/"; image "$ref" "$d" ;;
      pause)
        install -m 0755 "$stage/pause" "$d/pause"; image "$ref" "$d" /pause
        [ -z "$sandbox" ] || [ "$sandbox" = "$ref" ] || extra_tags+=("$ref=$sandbox") ;;
      kube-proxy)
        # kube-proxy runs iptables/nft: the base rootfs plus the binary.
        pctx="$stage/img-kube-proxy-ctx"; mkdir -p "$pctx"
        install -m 0755 "$kubebin/kube-proxy" "$pctx/"
        printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\n' "$base_image" >"$pctx/Dockerfile"
        DOCKER_BUILDKIT=0 docker build -q -t "$ref" "$pctx" >/dev/null
        docker save -o "$stage/kube-proxy.tar" "$ref"
        archives+=("$stage/kube-proxy.tar") ;;
      *) say "no image for $ref (its pods will not start)" ;;
    esac
    rm -rf "$d"
  done

  # Import them the way kind does: a containerd on this machine over the
  # image's /var/lib/containerd, ctr images import --no-unpack, pinned.
  step "importing ${#archives[@]} images into the node's containerd"
  run="$(mktemp -d /run/ncp-e2e-ctr.XXXXXX)"
  cat >"$run/config.toml" <<EOF
version = 3
root = "$r/var/lib/containerd"
state = "$run/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
  "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.sandbox.controller.v1.shim",
  "io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs"]
[grpc]
  address = "$run/c.sock"
[ttrpc]
  address = "$run/c.sock.ttrpc"
[debug]
  address = "$run/debug.sock"
[metrics]
  address = ""
EOF
  "$tools/containerd" --config "$run/config.toml" >"$run/containerd.log" 2>&1 &
  cpid=$!
  # (ctr's own warnings, such as cgroup v1's deprecation, go to the log)
  ctr() { "$tools/ctr" --address "$run/c.sock" --namespace k8s.io "$@" 2>>"$run/ctr.log"; }
  for _ in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
  ok=1
  for a in "${archives[@]}"; do
    ctr images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests "$a" >/dev/null || { ok=; break; }
  done
  if [ -n "$ok" ]; then
    for t in "${extra_tags[@]}"; do
      ctr images tag --force "${t%%=*}" "${t#*=}" >/dev/null &&
        ctr images label "${t#*=}" io.cri-containerd.pinned=pinned >/dev/null || { ok=; break; }
    done
  fi
  [ -z "$ok" ] || ctr images ls -q >"$stage/imported.txt"
  kill "$cpid"; wait "$cpid" || true
  cpid=
  [ -n "$ok" ] || die "importing images failed: $(tail -3 "$run/ctr.log"; tail -3 "$run/containerd.log")"
  rm -rf "$run"
  run=
  say "imported: $(grep -v -e '^sha256:' -e '^import-' "$stage/imported.txt" | tr '\n' ' ')"
  for ref in "${wanted[@]}"; do docker rmi "$ref" >/dev/null 2>&1 || true; done

  step "docker build $node_image"
  cat >"$stage/root/Dockerfile" <<EOF
FROM $base_image
COPY . /
ENV container=docker
STOPSIGNAL SIGRTMIN+3
LABEL io.ncp-e2e.inputs=$node_key io.ncp-e2e.kubernetes=$kube_version io.ncp-e2e.containerd=$containerd_version
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
EOF
  printf 'Dockerfile\n.dockerignore\n' >"$stage/root/.dockerignore"
  DOCKER_BUILDKIT=0 docker build -q -t "$node_image" "$stage/root" >/dev/null
  rm -rf "$stage"
  # Older builds of the same name are now dangling: drop them.
  docker image prune -f --filter "label=io.ncp-e2e.inputs" >/dev/null || true
fi
step "done: $node_image (containerd $containerd_version, Kubernetes $kube_version), $registry_image"
echo "NODE_IMAGE=$node_image"
echo "REGISTRY_IMAGE=$registry_image"
