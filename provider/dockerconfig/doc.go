// Package dockerconfig reads docker's credential files, config.json and the
// legacy .dockercfg, and serves them as a provider.Source with the kubelet's
// matching rules, including the credential helpers the file names, which
// the kubelet itself ignores.
//
// For an image, a file answers as docker's CLI resolves it (File.Resolve):
//  1. the credHelpers entry for the image's registry (host[:port], Docker Hub
//     as https://index.docker.io/v1/), asked with the server URL docker
//     would pass;
//  2. the credsStore: when the file has the empty auths placeholders that
//     `docker login` writes for a store, exactly those matching the image
//     are asked; otherwise the store is listed and every server URL whose
//     normalized key matches the image is asked, falling back to the
//     registry's server URL;
//  3. the plain auths entries (File.Lookup).
//
// The first that yields a usable credential answers alone. A helper that has
// nothing or fails passes on to the next step. That is our choice, not
// docker's: docker takes the one store that applies at its word, even an
// empty answer (see File.Resolve); we fall through to the plain entry the
// kubelet itself would use. A failure is reported so that the kubelet does
// not cache the answer. Helper credentials answer under the
// helper's normalized key, with Docker Hub's index.docker.io written
// docker.io (see package credhelper); plain auths entries keep their key.
//
// Where we differ from the kubelet's built-in keyring, on purpose:
//   - A broken entry loses only itself, not the whole file, and is reported.
//   - Entries without a username or password (the empty placeholders that
//     `docker login` writes when a credsStore holds the secret, or entries
//     with only an identitytoken or registrytoken) are never answered
//     themselves: the kubelet would hand them to the runtime as an empty
//     credential, which at best is an anonymous pull and at worst hides a
//     credential a later source has. Placeholders tell us what to ask the
//     credsStore for.
//   - credsStore and credHelpers are honoured.
package dockerconfig
