#!/usr/bin/env bash
# Shows the plugin doing its job: a node's docker config, the requests the
# kubelet sends, our answers. Exits non-zero if an answer is not the expected
# one, so `make demo` is also a smoke test of the built binary.
set -euo pipefail
bin=${1:-bin/node-credential-provider}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/config.json" <<'JSON'
{
  "auths": {
    "https://index.docker.io/v1/": { "auth": "ZGVtby1odWI6aHViLXBhc3N3b3Jk" },
    "registry.example.com":        { "username": "ci-bot", "password": "s3cret-registry-pw" },
    "quay.io/team-a":              { "username": "team-a+puller", "password": "team-a-token" },
    "localhost:5443":              {}
  },
  "credsStore": "pass"
}
JSON
chmod 600 "$work/config.json"

echo "== $("$bin" version)"
echo "== a node's docker config ($work/config.json):"
sed 's/^/   /' "$work/config.json"

fail=0
ask() { # image expected-substring
  local req out
  req='{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"'"$1"'"}'
  echo
  echo "== the kubelet sends:   $req"
  out=$("$bin" --docker-config "$work/config.json" --cache-duration 5m <<<"$req")
  echo "   we answer:          $out"
  if [[ "$out" != *"$2"* ]]; then echo "   UNEXPECTED: wanted $2"; fail=1; fi
}
ask registry.example.com/team/app '"cacheKeyType":"Registry","cacheDuration":"5m0s","auth":{"registry.example.com":{"username":"ci-bot","password":"s3cret-registry-pw"}}'
ask docker.io/library/nginx        '"auth":{"index.docker.io":{"username":"demo-hub","password":"hub-password"}}'
ask quay.io/team-a/app             '"cacheKeyType":"Image","cacheDuration":"5m0s","auth":{"quay.io/team-a":{"username":"team-a+puller","password":"team-a-token"}}'
ask quay.io/team-b/app             '"cacheDuration":"0s","auth":{}'
ask localhost:5443/lab/busybox     '"cacheDuration":"0s","auth":{}'

echo
echo "== why (-v=4 shows each source's decision on stderr; never a password):"
"$bin" --docker-config "$work/config.json" -v=4 2>&1 >/dev/null \
  <<<'{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"localhost:5443/lab/busybox"}' | sed 's/^/   /'
echo
echo "== a malformed request: exit 1 and one line on stderr"
if "$bin" --docker-config "$work/config.json" <<<'{"kind":"CredentialProviderRequest"' 2>&1; then fail=1; fi
exit $fail
