// Package credhelper asks docker credential helpers (docker-credential-NAME
// programs: pass, secretservice, ecr-login, gcloud, ...) for credentials,
// through github.com/docker/docker-credential-helpers/client, and serves a
// helper named in our configuration as a provider.Source.
//
// The kubelet runs us on every pull and kills us after a minute, so a helper
// is never trusted to behave: it runs with a timeout and within the run's
// deadline (the context), in its own process group (killed as a whole when
// the call ends, so no grandchild keeps our pipes open or outlives the
// call), dies with us (parent-death signal, and the reaper for its group:
// reaper.go), with an environment we choose rather than the kubelet's, and
// with its output bounded. What a helper prints on success may be a secret and never appears
// in an error; a failing helper's short one-line message may, with the words
// that look like secrets redacted (some helpers repeat what they could not use).
//
// Keys that go back to the kubelet: a helper's server URLs are normalized as
// the kubelet normalizes keys (match.NormalizeKey), and only those the
// kubelet will match to the image are used. Docker Hub is the exception:
// docker stores Hub credentials under https://index.docker.io/v1/, which
// normalizes to index.docker.io, a key the kubelet uses only as a fallback
// when no other key of any plugin matched. A helper's Hub credential is
// therefore answered under docker.io, which the kubelet matches directly to
// every docker.io image.
package credhelper
