#!/usr/bin/env bash
# A private dockerd for make e2e-kind on a machine without a usable docker
# (the project's CI machines): Debian's docker.io, started by hand with its
# own data-root, exec-root, pidfile, socket and daemon config, so a docker the
# machine already has is never touched, and stopped again at the end.
#
#   e2e/kind/docker.sh start   starts it (or finds it running); prints
#                              DOCKER_HOST=... and PATH=... for `eval`/export
#   e2e/kind/docker.sh stop    removes what the run left (kind network) and
#                              stops the dockerd this script started
#
# The data-root is kept under the cache folder (images survive, so a warm
# make kind-node-image is a no-op); everything else lives under /run.
#
# Its networking stays inside this machine and off the host's firewall:
# no docker0 bridge, no iptables rules, ip_forward left as it is. kind's own
# network is a bridge between the node containers; ports are published to
# 127.0.0.1 by docker-proxy.
#
# Where the capability bounding set lacks CAP_SYS_RESOURCE (these VMs), runc
# cannot start a --privileged container or exec into one; the default
# runtime is then runc-drop-sys-resource, which takes that capability out
# of the container's and the exec's capability sets before running runc.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${NCP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-credential-provider-e2e}"
data_root="$cache/kind/docker"
run=/run/ncp-e2e-docker # short: docker's exec-root holds unix sockets
exec_root="$run/exec"
pidfile="$run/dockerd.pid"
sock="$run/docker.sock"
log="$run/dockerd.log"
# The client that matches the daemon: Debian's, not whatever is first on PATH
# (a newer docker CLI negotiates down, but kind and docker build behave
# best with the daemon's own client).
clientdir="$run/bin"

say() { echo "docker.sh: $*" >&2; }
die() { say "$*"; exit 1; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

install_docker() {
  command -v dockerd >/dev/null && [ -x /usr/bin/docker ] && command -v jq >/dev/null && return
  [ "$(id -u)" -eq 0 ] || die "need root to install Debian's docker.io (and jq)"
  command -v apt-get >/dev/null || die "no docker that works here, and no apt-get to install Debian's docker.io"
  say "installing Debian's docker.io and jq"
  # Debian's postinst asks invoke-rc.d to start the system docker; say no,
  # for this install only, when the machine has no policy of its own.
  local policy=/usr/sbin/policy-rc.d made=
  if [ ! -e "$policy" ]; then
    # Removed however this ends: left behind, it would stop every service
    # start on the machine.
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io jq >&2 ||
    die "apt-get install docker.io failed"
  if [ -n "$made" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
}

start() {
  if running; then
    say "private dockerd already running (pid $(cat "$pidfile"))"
  else
    install_docker
    mkdir -p "$run" "$exec_root" "$data_root" "$clientdir"
    ln -sf /usr/bin/docker "$clientdir/docker"
    local runtimes='{}' default=runc
    # CAP_SYS_RESOURCE is capability 24.
    local bnd
    bnd="$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)"
    if (( (16#$bnd >> 24 & 1) == 0 )); then
      say "the capability bounding set lacks CAP_SYS_RESOURCE: runtime runc-drop-sys-resource"
      runtimes="{\"runc-drop-sys-resource\": {\"path\": \"$here/runc-drop-sys-resource\"}}"
      default=runc-drop-sys-resource
    fi
    # Our own config file: /etc/docker/daemon.json (the machine's) is never read.
    cat >"$run/daemon.json" <<JSON
{
  "data-root": "$data_root",
  "exec-root": "$exec_root",
  "pidfile": "$pidfile",
  "hosts": ["unix://$sock"],
  "bridge": "none",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "cgroup-parent": "ncp-e2e-docker",
  "log-level": "warn",
  "runtimes": $runtimes,
  "default-runtime": "$default"
}
JSON
    say "starting a private dockerd on $sock (data-root $data_root, log $log)"
    # setsid: the daemon outlives this script, not the caller's signals.
    setsid dockerd --config-file "$run/daemon.json" >"$log" 2>&1 </dev/null &
    local i dpid=$!
    for i in $(seq 1 150); do
      DOCKER_HOST="unix://$sock" "$clientdir/docker" version >/dev/null 2>&1 && break
      running || [ "$i" -lt 20 ] || die "dockerd exited: $(tail -5 "$log")"
      sleep 0.2
    done
    if ! DOCKER_HOST="unix://$sock" "$clientdir/docker" version >/dev/null 2>&1; then
      # A dockerd that never answered is not left running, pid file or not.
      stop >/dev/null 2>&1 || true
      kill -KILL "$dpid" 2>/dev/null || true
      die "dockerd did not answer in 30s: $(tail -5 "$log")"
    fi
  fi
  echo "DOCKER_HOST=unix://$sock"
  echo "PATH=$clientdir:$PATH"
}

stop() {
  running || { say "no private dockerd running"; return 0; }
  export DOCKER_HOST="unix://$sock"
  # kind's network is a bridge on this machine: take it away with the daemon.
  "$clientdir/docker" network rm kind >/dev/null 2>&1 || true
  local pid
  pid="$(cat "$pidfile")"
  say "stopping the private dockerd (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd $pid did not stop in 30s; killing it"
    kill -KILL "$pid" || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
