// Package plugin speaks the kubelet's exec credential provider protocol:
// one CredentialProviderRequest in, one CredentialProviderResponse out, in any
// of the versions credentialprovider.kubelet.k8s.io/v1, v1beta1 and v1alpha1.
//
// The wire types here mirror k8s.io/kubelet/pkg/apis/credentialprovider
// instead of importing it. Importing those types pulls in apimachinery's
// runtime and its package initialisation, which on these machines costs more
// than the whole rest of a plugin run; the kubelet executes the plugin for
// every image it pulls. Tests decode every response we write with the
// kubelet's own scheme and a strict decoder, and decode requests encoded by
// that scheme, so the mirror cannot drift unnoticed.
package plugin
