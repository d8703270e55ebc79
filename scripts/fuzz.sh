#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each. Targets are
# found with `go test -list`, so a new Fuzz function is fuzzed without
# editing this file. A crasher is written by go test under the package's
# testdata/fuzz/FuzzName/, where plain `go test` then replays it: fix the
# bug and commit the file as a regression seed.
#
#   FUZZTIME=10s scripts/fuzz.sh [packages...]   (default ./...)
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

failed=()
n=0
start=$SECONDS
for pkg in $($GO list "${pkgs[@]}"); do
	targets=$($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for target in $targets; do
		n=$((n + 1))
		echo "== $pkg $target ($FUZZTIME)"
		if ! $GO test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done
echo "fuzzed $n targets in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	echo "crashers are in each package's testdata/fuzz/; go test replays them"
	exit 1
fi
