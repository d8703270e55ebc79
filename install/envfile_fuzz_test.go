//go:build linux

package install

import (
	"strings"
	"testing"
)

// Flag files and units are outside input: reading them never panics, and
// our flags come out of a file exactly as they went in.
func FuzzEnvFile(f *testing.F) {
	f.Add([]byte(kubeadmFlags))
	f.Add([]byte("# c\nKUBELET_EXTRA_ARGS='--v=2'\nexport X=1\n"))
	f.Add([]byte("KUBELET_EXTRA_ARGS=\n"))
	f.Add([]byte(kubeadmDropIn))
	f.Fuzz(func(t *testing.T, data []byte) {
		unitWords(string(data))
		unitLines(data)
		argSettings(strings.Fields(string(data)), "fuzz")
		before, err := parseEnvFile(data)
		if err != nil {
			return
		}
		args := []string{"--image-credential-provider-config=/etc/x", "--image-credential-provider-bin-dir=/opt/y"}
		out, added, err := addEnvArgs(data, ExtraArgsVar, args)
		if err != nil {
			t.Fatalf("add to a file that parses: %v", err)
		}
		after, err := parseEnvFile(out)
		if err != nil {
			t.Fatalf("our edit does not parse: %v\n%q", err, out)
		}
		var got []Setting
		for _, a := range after {
			if a.Name == ExtraArgsVar {
				got = append(got, argSettings(strings.Fields(a.Value), "")...)
			}
		}
		n := 0
		for _, s := range got {
			if "--"+s.Flag+"="+s.Value == args[0] || "--"+s.Flag+"="+s.Value == args[1] {
				n++
			}
		}
		if n < 2 {
			t.Fatalf("our flags are not in %q", out)
		}
		back, err := removeEnvArgs(out, ExtraArgsVar, args, added)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseEnvFile(back)
		if err != nil {
			t.Fatal(err)
		}
		if !sameEnvFile(back, data) {
			// Not the same file: the same assignments, with the same values
			// but for the ones that held our flags.
			if len(again) != len(before) {
				t.Fatalf("remove(add(x)) has %d assignments, x had %d: %q -> %q", len(again), len(before), data, back)
			}
			for i := range before {
				if before[i].Name != again[i].Name {
					t.Fatalf("remove(add(x)) renamed assignment %d: %s -> %s", i, before[i].Name, again[i].Name)
				}
				if strings.Join(strings.Fields(before[i].Value), " ") != strings.Join(strings.Fields(again[i].Value), " ") && !strings.Contains(before[i].Value, "--image-credential-provider") {
					t.Fatalf("remove(add(x)) changed %s: %q -> %q", before[i].Name, before[i].Value, again[i].Value)
				}
			}
		}
	})
}
