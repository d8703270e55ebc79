#!/usr/bin/env bash
# Builds the image twice, from two clones of HEAD in different directories,
# and fails unless both give the same index digest and byte-identical archives.
# That is what SOURCE_DATE_EPOCH promises: anybody can rebuild a release's image
# from its commit and check the digest. (It checks HEAD: uncommitted changes are
# not in the clones.) Both builds share the Go build cache unless
# IMAGE_REPRO_COLD=1, which gives the second an empty one (minutes more), so
# that a compiler output that differs between runs would show too.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rev="$(git -C "$repo" rev-parse HEAD)"
declare -A digest sum
for c in a b; do
  git clone -q --no-hardlinks "$repo" "$work/$c"
  git -C "$work/$c" checkout -q --detach "$rev"
  start=$(date +%s)
  env=()
  [ "$c" = a ] || [ "${IMAGE_REPRO_COLD:-0}" != 1 ] || env=(GOCACHE="$work/gocache")
  env "${env[@]}" make -C "$work/$c" --no-print-directory image >"$work/$c.log" 2>&1 || { cat "$work/$c.log"; exit 1; }
  digest[$c]="$(cat "$work/$c/dist/image/digest")"
  sum[$c]="$(sha256sum <"$work/$c/dist/image/node-credential-provider.oci.tar" | cut -d' ' -f1)"
  echo "image-repro: clone $c: index ${digest[$c]}, archive sha256:${sum[$c]} ($(( $(date +%s) - start ))s)"
done
if [ "${digest[a]}" != "${digest[b]}" ] || [ "${sum[a]}" != "${sum[b]}" ]; then
  echo "image-repro: two builds of $rev differ" >&2
  exit 1
fi
echo "image-repro: reproducible"
