#!/usr/bin/env bash
# Starts the password-protected TLS registry the e2e cases pull from, as a
# container on kind's docker network, and writes $dir/registry.env for the
# test harness (e2e/kind.go).
#
#   e2e/kind/registry.sh DIR      (DIR: the host folder the kind nodes mount, /tmp/ncp-e2e-kind)
#
# The nodes reach it as ncp-e2e-registry:5000 (docker's DNS on the kind
# network); this machine pushes to it as localhost:5443. containerd on the
# nodes trusts its CA through certs.d/ncp-e2e-registry:5000/hosts.toml,
# which the nodes mount at /etc/containerd/certs.d.
set -euo pipefail

dir="${1:?usage: registry.sh DIR}"
name=ncp-e2e-registry
host="$name:5000"
push_host=localhost:5443
image="${NCP_E2E_REGISTRY_IMAGE:-registry:2}"
reg="$dir/registry"
mkdir -p "$reg/certs" "$reg/data" "$dir/certs.d/$host" "$dir/push-certs"

if [ ! -f "$reg/ca.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=ncp-e2e-kind-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$reg/ca.key" -out "$reg/ca.crt" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$name" >"$reg/server.ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$reg/certs/server.key" -out "$reg/server.csr" 2>/dev/null
  openssl x509 -req -in "$reg/server.csr" -CA "$reg/ca.crt" -CAkey "$reg/ca.key" -CAcreateserial -days 7 \
    -extfile "$reg/server.ext" -out "$reg/certs/server.crt" 2>/dev/null
fi
cp "$reg/ca.crt" "$dir/certs.d/$host/ca.crt"
cp "$reg/ca.crt" "$dir/push-certs/ca.crt"
cat >"$dir/certs.d/$host/hosts.toml" <<TOML
[host."https://$host"]
  capabilities = ["pull", "resolve"]
  ca = "/etc/containerd/certs.d/$host/ca.crt"
TOML

user=e2e-user
if [ -f "$dir/registry.env" ]; then
  password="$(sed -n 's/^REGISTRY_PASSWORD=//p' "$dir/registry.env")"
fi
password="${password:-e2e-throwaway-$(openssl rand -hex 6)}"
[ -f "$reg/htpasswd" ] || htpasswd -Bbc "$reg/htpasswd" "$user" "$password" 2>/dev/null

if ! docker inspect "$name" >/dev/null 2>&1; then
  docker run -d --name "$name" --network kind --restart always \
    -p 127.0.0.1:5443:5000 \
    -v "$reg/certs:/certs:ro" -v "$reg/htpasswd:/auth/htpasswd:ro" -v "$reg/data:/var/lib/registry" \
    -e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/server.crt -e REGISTRY_HTTP_TLS_KEY=/certs/server.key \
    -e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_REALM=ncp-e2e -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd \
    "$image" >/dev/null
fi
for _ in $(seq 1 50); do
  code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$reg/ca.crt" "https://$push_host/v2/" || true)"
  [ "$code" = 401 ] && break
  sleep 0.2
done
[ "$code" = 401 ] || { echo "registry.sh: https://$push_host/v2/ answers $code, want 401" >&2; exit 1; }

cat >"$dir/registry.env" <<ENV
# written by e2e/kind/registry.sh; read by e2e/kind.go
REGISTRY_CONTAINER=$name
REGISTRY_HOST=$host
REGISTRY_PUSH_HOST=$push_host
REGISTRY_USER=$user
REGISTRY_PASSWORD=$password
REGISTRY_CERT_DIR=$dir/push-certs
REGISTRY_HTPASSWD=$reg/htpasswd
ENV
chmod 600 "$dir/registry.env"
echo "registry.sh: $host (push: $push_host) ready"
