// Package config holds node-credential-provider's own configuration file
// (config.node-credential-provider.io/v1alpha1, kind
// NodeCredentialProviderConfig) and the kubelet's CredentialProviderConfig as
// far as we read it for explain and validate.
//
// Both are decoded strictly: an unknown, duplicated or wrongly-cased field is
// an error that names its path, because a typo in a credentials config must
// not silently turn into "no credentials". Decoding uses sigs.k8s.io/json and
// sigs.k8s.io/yaml, the libraries apimachinery's strict decoding is built on,
// without apimachinery's runtime: this binary starts on every image pull.
package config
