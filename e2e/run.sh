#!/usr/bin/env bash
# Runs the end-to-end suite: installs the Debian packages it needs, builds
# the kubelet from the Go module proxy once (cached by version), builds the
# plugin, then runs the tests. Extra arguments go to `go test`, e.g.
#   e2e/run.sh -run 'TestCases/wrong-password'
# Ends with a line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
fail() {
  echo "e2e: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}
phase() {
  local name="$1"; shift
  local s; s="$(now)"
  if "$@"; then
    echo "e2e: phase $name $(since "$s")s"
  else
    echo "e2e: phase $name $(since "$s")s FAILED"
    fail "$name failed"
  fi
}

[ "$(id -u)" -eq 0 ] || fail "the e2e suite needs root (it runs containerd and a kubelet)"
total="$(now)"

phase install-deps "$here/install-deps.sh"

# shellcheck disable=SC2317  # called through phase
build_kube() {
  local out targets=(kubelet)
  # The control-plane cases need an API server too (NCP_E2E_CONTROL_PLANE=0 skips them), and the deploy case
  # the controller-manager (DaemonSet, Job) and the scheduler (DaemonSet pods).
  [ "${NCP_E2E_CONTROL_PLANE:-1}" = 0 ] || targets+=(kube-apiserver etcd kube-controller-manager kube-scheduler)
  out="$("$here/tools/kube/build.sh" "${targets[@]}")" || return 1
  NCP_E2E_KUBE_BIN="$(tail -n1 <<<"$out")"
  export NCP_E2E_KUBE_BIN
}
phase kube-binaries build_kube

if [ -n "${NCP_E2E_PLUGIN:-}" ]; then
  echo "e2e: using NCP_E2E_PLUGIN=$NCP_E2E_PLUGIN, not building the plugin"
else
  phase plugin-build make -C "$repo" --no-print-directory build
fi

summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
s="$(now)"
(cd "$repo" && NCP_E2E_SUMMARY="$summary" go test -tags e2e -count=1 -v -timeout "${NCP_E2E_TIMEOUT:-30m}" ./e2e/... "$@")
rc=$?
echo "e2e: phase go-test $(since "$s")s"
echo "e2e: total $(since "$total")s"
line="$(cat "$summary" 2>/dev/null)"
if [ -z "$line" ]; then
  # The test binary did not get as far as counting (a build error, a crash).
  line="0 passed, 1 failed"
  [ "$rc" -ne 0 ] || rc=1
fi
echo "$line"
exit "$rc"
