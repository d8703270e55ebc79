#!/usr/bin/env bash
# make e2e-kind: the e2e cases against a kind cluster, on a machine where kind
# works (docker that can run privileged containers, image pulls allowed).
#
#   e2e/kind/run.sh [go test flags, e.g. -run 'TestCases/wrong-password']
#
# 1. fills /tmp/ncp-e2e-kind (the folder kind-config.yaml mounts into the
#    nodes): the plugin binary, the kubelet's initial provider config;
# 2. creates the kind cluster ncp-e2e (kept if it exists) with kind-config.yaml;
# 3. starts the registry on the kind network (registry.sh);
# 4. runs the SAME cases as make e2e (go test -tags e2e ./e2e/...) with
#    NCP_E2E_KUBECONFIG set, so e2e/kind.go's KindCluster serves them.
# NCP_E2E_KIND_DELETE=1 deletes the cluster and the registry at the end.
# Needs: docker, kind, kubectl, go, openssl, htpasswd, curl, umoci, skopeo,
# busybox-static (the test image is built and pushed from this machine).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir=/tmp/ncp-e2e-kind # fixed: kind-config.yaml names it
cluster=ncp-e2e
node="${NCP_E2E_KIND_NODE:-$cluster-worker}"

fail() { echo "e2e-kind: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
for bin in docker kind kubectl go openssl htpasswd curl umoci skopeo; do
  command -v "$bin" >/dev/null || fail "$bin is not installed"
done
[ -x /bin/busybox ] || fail "/bin/busybox (busybox-static) is not installed"

make -C "$repo" --no-print-directory build || fail "make build failed"
mkdir -p "$dir/provider-bin" "$dir/provider-config" "$dir/files" "$dir/certs.d"
install -m 0755 "$repo/bin/node-credential-provider" "$dir/provider-bin/node-credential-provider"
# The initial config's --docker-config file must parse.
[ -f "$dir/files/config.json" ] || echo '{"auths": {}}' >"$dir/files/config.json"
if [ -z "$(ls -A "$dir/provider-config")" ]; then
  cp "$here/credential-provider-config.yaml" "$dir/provider-config/"
fi

kubeconfig="$dir/kubeconfig"
if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  kind create cluster --config "$here/kind-config.yaml" --kubeconfig "$kubeconfig" --wait 2m \
    ${NCP_E2E_KIND_IMAGE:+--image "$NCP_E2E_KIND_IMAGE"} || fail "kind create cluster failed"
else
  kind get kubeconfig --name "$cluster" >"$kubeconfig" || fail "kind get kubeconfig failed"
fi
"$here/registry.sh" "$dir" || fail "registry.sh failed"

summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
(cd "$repo" && NCP_E2E_KUBECONFIG="$kubeconfig" NCP_E2E_KIND_NODE="$node" NCP_E2E_KIND_DIR="$dir" \
  NCP_E2E_PLUGIN="$dir/provider-bin/node-credential-provider" NCP_E2E_SUMMARY="$summary" \
  go test -tags e2e -count=1 -v -timeout "${NCP_E2E_TIMEOUT:-30m}" ./e2e/... "$@")
rc=$?
if [ "${NCP_E2E_KIND_DELETE:-0}" = 1 ]; then
  kind delete cluster --name "$cluster"
  docker rm -f ncp-e2e-registry >/dev/null
fi
line="$(cat "$summary" 2>/dev/null)"
[ -n "$line" ] || { line="0 passed, 1 failed"; [ "$rc" -ne 0 ] || rc=1; }
echo "$line"
exit "$rc"
