package provider

import "testing"

// One rule for every helper name, wherever it is written (it was once two:
// our config refused "-x" and "a b", a docker config's credsStore did not).
func TestCheckHelperName(t *testing.T) {
	for s, want := range map[string]bool{"pass": true, "ecr-login": true, "a.b_c": true, "": false, "-x": false, "../x": false, "a/b": false, "a b": false, "a\x00": false, "é": false} {
		if got := CheckHelperName(s) == nil; got != want {
			t.Errorf("CheckHelperName(%q) ok = %v", s, got)
		}
	}
}
