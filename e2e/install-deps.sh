#!/usr/bin/env bash
# Installs the Debian packages the e2e suite needs. Idempotent: only missing
# packages are installed, and nothing is done when all are present.
set -euo pipefail

# What each package is for: docker-registry (distribution 2.8) + apache2-utils
# (htpasswd) + openssl: the private TLS registry; busybox-static + umoci +
# skopeo: the test image, built offline and pushed; containerd + runc: the
# runtime; gcc + libc6-dev: a static pause binary; make: the plugin's build;
# golang-docker-credential-helpers + pass + gnupg: a real credential helper
# (docker-credential-pass) for the helper cases; curl: the install cases' restart
# command.
want=(docker-registry apache2-utils openssl busybox-static umoci skopeo containerd runc gcc libc6-dev make
  golang-docker-credential-helpers pass gnupg curl)

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps docker-registry from pulling in extras;
# the services Debian would start are stopped below: the suite runs its own.
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian starts a system registry on :5000 and a system containerd when
# systemd runs; the suite needs neither. Stop only what was just installed.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for svc in docker-registry containerd; do
    case " ${missing[*]} " in *" $svc "*) ;; *) continue ;; esac
    if systemctl is-active --quiet "$svc" 2>/dev/null; then
      echo "install-deps: stopping the system $svc just installed (the suite runs its own)"
      systemctl stop "$svc" || true
    fi
  done
fi
echo "install-deps: done"
