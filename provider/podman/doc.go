// Package podman serves the containers auth.json of podman, buildah and
// skopeo (containers-auth.json(5)) as a provider.Source.
//
// The file is docker-config-shaped and parsed by dockerconfig.Parse, but its
// keys are matched the way containers/image (pkg/docker/config) matches them,
// not the kubelet's way, in two passes. First exactly: the image's name,
// then each parent namespace, then its registry, each looked up as a key
// exactly as written (quay.io/team-b/app, quay.io/team-b, quay.io), so that
// quay.io/team applies to quay.io/team/app and not to quay.io/team-a/app,
// and a bare registry-1.docker.io key to registry-1.docker.io/... images.
// Then normalized: a key that names the image's registry once a scheme and
// anything after the host are dropped from a key written with a scheme
// (https://quay.io/v1/), with docker.io, index.docker.io and
// registry-1.docker.io all read as Docker Hub. A parity test in
// e2e/tools/kube compares this with containers/image itself.
//
// We answer with that one key, spelled so that the kubelet matches it to the
// image: a key found in the first pass as written (the kubelet's
// string-prefix rule accepts it for this image; the answer is cached per
// image because the result is PathScoped), one found in the second pass as
// the image's registry (docker.io for Docker Hub images).
//
// containers/image reads only an entry's "auth" (and identitytoken); we also
// read username and password, as docker and the kubelet do, so that a file
// written by hand is not silently anonymous.
//
// A credHelpers entry for the image's registry is asked first, with the
// registry as server URL, as containers/image does. Unlike containers/image
// we pass on to the auths entries when the helper has nothing (as
// dockerconfig does). credsStore is not part of the containers format and is
// ignored, with a note.
//
// When the most specific key is an entry without a username and password,
// podman would pull anonymously; we answer nothing from this file rather
// than fall back to a broader key the operator scoped away from this image.
package podman
