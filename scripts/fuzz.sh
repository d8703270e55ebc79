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
listed=$($GO list "${pkgs[@]}") || { echo "fuzz.sh: go list ${pkgs[*]} failed" >&2; exit 1; }
for pkg in $listed; do
	# A package that does not build must fail the run, not look like one
	# without targets.
	if ! list=$($GO test -list '^Fuzz' "$pkg" 2>&1); then
		echo "$list"
		failed+=("$pkg (does not build)")
		continue
	fi
	targets=$(grep '^Fuzz' <<<"$list" || true)
	for target in $targets; do
		n=$((n + 1))
		echo "== $pkg $target ($FUZZTIME)"
		out=$($GO test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1)
		rc=$?
		echo "$out"
		# The fuzzing engine itself sometimes ends a run at the deadline with
		# "context deadline exceeded" and no input: that is
		# no finding. Run such a target once more; a real crasher says
		# "Failing input written to" and fails again.
		if [ $rc -ne 0 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			echo "== $pkg $target: the engine stopped at its deadline without an input; running it again"
			$GO test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg"
			rc=$?
		fi
		if [ $rc -ne 0 ]; then
			failed+=("$pkg $target")
		fi
	done
done
echo "fuzzed $n targets in $((SECONDS - start))s"
if [ "$n" -eq 0 ] && [ ${#failed[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz target in ${pkgs[*]}" >&2
	exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	echo "crashers are in each package's testdata/fuzz/; go test replays them"
	exit 1
fi
