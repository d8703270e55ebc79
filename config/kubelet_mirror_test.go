package config

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kubeletv1 "k8s.io/kubelet/config/v1"
)

// Our mirror of the kubelet's CredentialProviderConfig accepts and rejects
// what the kubelet's own types and strict decoder do.
func TestKubeletConfigMirror(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := kubeletv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	const k = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n"
	const p = "providers:\n- name: ncp\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [r.io]\n  defaultCacheDuration: 1m\n"
	for _, tc := range []struct {
		name string
		doc  string
		ok   bool
	}{
		{"valid", k + p, true},
		{"args env tokens", k + p + "  args: [--config=/c]\n  env: [{name: A, value: b}]\n  tokenAttributes: {serviceAccountTokenAudience: aud, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: [a/b], optionalServiceAccountAnnotationKeys: [c/d]}\n", true},
		{"unknown field", k + p + "  bogus: 1\n", false},
		{"wrong case", k + "providers:\n- name: ncp\n  apiversion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [r.io]\n  defaultCacheDuration: 1m\n", false},
		{"duplicate field", k + p + "  name: again\n", false},
		{"env entry unknown field", k + p + "  env: [{name: A, val: b}]\n", false},
		{"json", `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"n","matchImages":["r.io"],"defaultCacheDuration":"1m","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}]}`, true},
	} {
		_, _, kerr := dec.Decode([]byte(tc.doc), nil, nil)
		var kc KubeletConfig
		ourErr := decodeStrict([]byte(tc.doc), &kc)
		if (kerr == nil) != tc.ok || (ourErr == nil) != tc.ok {
			t.Errorf("%s: kubelet's decoder: %v; ours: %v; want ok=%v", tc.name, kerr, ourErr, tc.ok)
		}
	}
}
