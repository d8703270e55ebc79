package k8sname

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Our validators must agree with apimachinery's, which the API server uses:
// stricter would refuse good Secrets, looser would let kubectl apply fail.
func checkAgainstAPIMachinery(t *testing.T, s string) {
	t.Helper()
	for _, c := range []struct {
		what string
		ours error
		them []string
	}{
		{"DNS label", DNSLabel(s), validation.IsDNS1123Label(s)},
		{"subdomain", Subdomain(s), validation.IsDNS1123Subdomain(s)},
		{"qualified name", QualifiedName(s), validation.IsQualifiedName(s)},
		{"label value", LabelValue(s), validation.IsValidLabelValue(s)},
		{"annotation key", AnnotationKey(s), validation.IsQualifiedName(strings.ToLower(s))},
	} {
		if (c.ours == nil) != (len(c.them) == 0) {
			t.Errorf("%s %q: ours %v, apimachinery %v", c.what, s, c.ours, c.them)
		}
	}
}

func TestValidatorsAgree(t *testing.T) {
	for _, s := range []string{
		"", "a", "A", "0", "-", "a-b", "a_b", "a.b", "a..b", ".a", "a.", "-a", "a-",
		"app.kubernetes.io/name", "example.com/", "/name", "a/b/c", "Example.com/x", "x/Y_z.1",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a",
		strings.Repeat("a", 63) + "/" + strings.Repeat("b", 63), "ä", "a b", "a\n",
	} {
		checkAgainstAPIMachinery(t, s)
	}
}

func FuzzValidatorsAgree(f *testing.F) {
	for _, s := range []string{"a", "app.kubernetes.io/name", "a_b.c-d", "-x", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(checkAgainstAPIMachinery)
}
