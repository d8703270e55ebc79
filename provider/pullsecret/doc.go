// Package pullsecret builds and reads kubernetes.io/dockerconfigjson Secrets,
// the imagePullSecrets that pods use where the kubelet's credential provider
// cannot help (other nodes, clusters whose kubelet flags we do not control,
// GitOps repositories).
//
// The Secrets hold exactly what `kubectl create secret docker-registry`
// would write for the same servers and credentials, so that anything that
// already understands kubectl's Secrets understands ours. They are resolved
// through the same provider.Store as the plugin, so a Secret carries the
// credential the kubelet would have used, not a copy of a config.json whose
// secrets live in a credential store.
//
// The Secret and List shapes are small structs of our own, not the k8s.io/api
// types: this package is linked into the binary the kubelet executes on
// every pull, and the Kubernetes API machinery would cost more start-up time
// than the rest of a run. YAML is written by sigs.k8s.io/yaml, the printer
// kubectl uses, so that it comes out as kubectl's bytes.
package pullsecret
