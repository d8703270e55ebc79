// Package scope decides which sources a pod may use, from the
// service-account token and annotations the kubelet sends when its provider
// config has tokenAttributes (KEP-4412).
//
// The token is not verified here: the kubelet requested it from the API
// server for this very pod, and the plugin's stdin comes from the kubelet.
// The trust boundary is the kubelet, as for everything else the plugin is
// told. We read the token's claims for the pod's namespace and service
// account, check its audience when configured, and never echo it.
package scope
