package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The kubelet refuses these at start-up (TestKubeletConfigParity in
// e2e/tools/kube runs its own loader over them and many more).
func TestCheckKubeletTokenAttributes(t *testing.T) {
	const head = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: ncp\n  matchImages: [quay.io]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
	for _, tc := range []struct{ attrs, want string }{
		{`{serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: false, requiredServiceAccountAnnotationKeys: [x]}`, "requires requireServiceAccount: true"},
		{`{serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: true, optionalServiceAccountAnnotationKeys: ["no key!"]}`, "not a valid annotation key"},
		{`{serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: [x], optionalServiceAccountAnnotationKeys: [x]}`, "both required and optional"},
		{`{serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: [x, x]}`, "listed twice"},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(head+"  tokenAttributes: "+tc.attrs+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errs := CheckKubelet(path, "", "")
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%s: %v; want one error with %q", tc.attrs, errs, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(head+"  tokenAttributes: {serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: true, requiredServiceAccountAnnotationKeys: [Example.com/Team]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs := CheckKubelet(path, "", ""); len(errs) != 0 {
		t.Errorf("mixed case is fine for the kubelet: %v", errs)
	}
}
