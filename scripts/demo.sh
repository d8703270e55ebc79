#!/usr/bin/env bash
# Shows the plugin doing its job: a node's docker config, the requests the
# kubelet sends, our answers. Exits non-zero if an answer is not the expected
# one, so `make demo` is also a smoke test of the built binary.
set -euo pipefail
bin=${1:-bin/node-credential-provider}
work=$(mktemp -d)
# The helper's answers are cached in the kernel keyring under this run's
# cache dir; purge them with the folder.
trap '"$bin" cache purge --all --cache-dir "$work/cache" >/dev/null 2>&1; rm -rf "$work"' EXIT

cat > "$work/config.json" <<'JSON'
{
  "auths": {
    "https://index.docker.io/v1/": { "auth": "ZGVtby1odWI6aHViLXBhc3N3b3Jk" },
    "registry.example.com":        { "username": "ci-bot", "password": "s3cret-registry-pw" },
    "quay.io/team-a":              { "username": "team-a+puller", "password": "team-a-token" },
    "localhost:5443":              {}
  },
  "credsStore": "demo"
}
JSON
chmod 600 "$work/config.json"

# The empty "localhost:5443" entry is what `docker login` leaves when the
# secret went to the credsStore. A stand-in for docker-credential-pass or
# -secretservice holds it, so the demo needs no keyring.
mkdir "$work/bin"
cat > "$work/bin/docker-credential-demo" <<'SH'
#!/bin/sh
read -r url || true
case "$1" in
list) echo '{"localhost:5443":"lab-user"}' ;;
get)
  if [ "$url" = localhost:5443 ]; then
    echo '{"ServerURL":"localhost:5443","Username":"lab-user","Secret":"lab-pw-from-helper"}'
  else
    echo 'credentials not found in native keychain'; exit 1
  fi ;;
*) echo "unsupported action"; exit 1 ;;
esac
SH
chmod 755 "$work/bin/docker-credential-demo"
export PATH="$work/bin:$PATH"

echo "== $("$bin" version)"
echo "== a node's docker config ($work/config.json):"
sed 's/^/   /' "$work/config.json"
echo "== and its credsStore, docker-credential-demo, holds localhost:5443"

fail=0
ask() { # image expected-substring
  local req out
  req='{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"'"$1"'"}'
  echo
  echo "== the kubelet sends:   $req"
  out=$("$bin" --docker-config "$work/config.json" --cache-dir "$work/cache" --cache-duration 5m <<<"$req")
  echo "   we answer:          $out"
  if [[ "$out" != *"$2"* ]]; then echo "   UNEXPECTED: wanted $2"; fail=1; fi
}
ask registry.example.com/team/app '"cacheKeyType":"Registry","cacheDuration":"5m0s","auth":{"registry.example.com":{"username":"ci-bot","password":"s3cret-registry-pw"}}'
ask docker.io/library/nginx        '"auth":{"index.docker.io":{"username":"demo-hub","password":"hub-password"}}'
ask quay.io/team-a/app             '"cacheKeyType":"Image","cacheDuration":"5m0s","auth":{"quay.io/team-a":{"username":"team-a+puller","password":"team-a-token"}}'
ask quay.io/team-b/app             '"cacheDuration":"0s","auth":{}'
ask localhost:5443/lab/busybox     '"cacheKeyType":"Registry","cacheDuration":"5m0s","auth":{"localhost:5443":{"username":"lab-user","password":"lab-pw-from-helper"}}'

echo
echo "== why (-v=4 shows each source's decision on stderr; never a password):"
"$bin" --docker-config "$work/config.json" --cache-dir "$work/cache" -v=4 2>&1 >/dev/null \
  <<<'{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"quay.io/team-b/app"}' | sed 's/^/   /'
echo
echo "== an operator asks why quay.io/team-b gets nothing: node-credential-provider explain"
"$bin" explain quay.io/team-b/app:v2 --docker-config "$work/config.json" --cache-dir "$work/cache" | sed 's/^/   /'
echo
echo "== a malformed request: exit 1 and one line on stderr"
if "$bin" --docker-config "$work/config.json" <<<'{"kind":"CredentialProviderRequest"' 2>&1; then fail=1; fi
exit $fail
