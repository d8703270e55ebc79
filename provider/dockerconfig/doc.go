// Package dockerconfig reads docker's credential files, config.json and the
// legacy .dockercfg, and serves them as a provider.Source with the kubelet's
// matching rules.
//
// Where we differ from the kubelet's built-in keyring, on purpose:
//   - A broken entry loses only itself, not the whole file, and is reported.
//   - Entries without a username or password (the empty placeholders that
//     `docker login` writes when a credsStore holds the secret, or entries
//     with only an identitytoken or registrytoken) are skipped: the kubelet
//     would hand them to the runtime as an empty credential, which at best is
//     an anonymous pull and at worst hides a credential a later source has.
package dockerconfig
