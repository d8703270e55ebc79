// Package podman serves the containers auth.json of podman, buildah and
// skopeo (containers-auth.json(5)) as a provider.Source.
//
// The file is docker-config-shaped and parsed by dockerconfig.Parse, but its
// keys are matched the way containers/image matches them, not the kubelet's
// way: a key may name a namespace or repository (quay.io/team-a,
// quay.io/team-b/app) and the single most specific key whose path
// components are a prefix of the image's answers. Components are compared
// whole: quay.io/team applies to quay.io/team/app, not to
// quay.io/team-a/app. A key written with a scheme (https://quay.io/v1/) is a
// legacy key and names its host only, below every namespaced key; for
// Docker Hub, index.docker.io and registry-1.docker.io are such aliases of
// docker.io.
//
// We answer with that one key, spelled so that the kubelet matches it to the
// image: a namespaced key as written (the kubelet's string-prefix rule
// accepts it for this image; the answer is cached per image because the
// result is PathScoped), a legacy key as the image's registry (docker.io for
// Docker Hub).
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
