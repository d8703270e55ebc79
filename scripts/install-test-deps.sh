#!/usr/bin/env bash
# Installs the Debian packages the unit tests need: a real docker credential
# helper (provider/dockerconfig TestRealPassHelper: Debian's
# docker-credential-pass and -secretservice, pass, and gnupg), and the tools
# named below. Idempotent: does nothing when they are all installed. Without
# them the tests that need them fail, so a machine without apt-get fails here.
# busybox-static: install's restart-in-root test (install TestRestartRunsInRoot) needs a static shell to chroot to.
# keyutils: the cmd hostile and fault cases that look into the cache keyring with keyctl.
set -euo pipefail
packages=(golang-docker-credential-helpers pass gnupg busybox-static keyutils)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: already installed: ${packages[*]}"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-test-deps: no apt-get; install ${missing[*]} by hand (the unit tests need them)" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo "install-test-deps: apt-get update && apt-get install -y ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
