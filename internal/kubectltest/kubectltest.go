// Package kubectltest gives tests what kubectl writes, so that output meant
// to be kubectl's can be compared with it byte for byte on every machine.
//
// With kubectl on PATH, Output runs it. Without, it returns a golden file
// that kubectl generated, committed next to the test: the comparison never
// silently skips. The golden files are made, and remade after a kubectl
// upgrade, by
//
//	make kubectl-golden
//
// which runs the tests with NCP_KUBECTL_GOLDEN=update: each Output call
// then writes its golden file, and the directory's kubectl-version.txt
// records which kubectl made them. With kubectl on PATH and no update, a
// golden file that differs from kubectl's output fails the test: it is
// stale.
package kubectltest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// UpdateEnv is the environment variable that, set to "update", makes
// Output write the golden files.
const UpdateEnv = "NCP_KUBECTL_GOLDEN"

// VersionFile names, in a golden directory, the kubectl that made the files.
const VersionFile = "kubectl-version.txt"

// Output returns what kubectl args writes on stdout. args must need no
// cluster (create ... --dry-run=client); kubectl runs without a kubeconfig
// and with an empty HOME. golden is the file that holds the same bytes for
// machines without kubectl.
func Output(t testing.TB, golden string, args ...string) []byte {
	t.Helper()
	kubectl, lookErr := exec.LookPath("kubectl")
	update := os.Getenv(UpdateEnv) == "update"
	if lookErr != nil {
		if update {
			t.Fatalf("%s=update, but kubectl is not on PATH: %v", UpdateEnv, lookErr)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("kubectl is not on PATH (%v), and its golden output is missing: %v (make kubectl-golden on a machine with kubectl)", lookErr, err)
		}
		t.Logf("kubectl is not on PATH: comparing with %s, made by %s", golden, goldenVersion(golden))
		return want
	}
	out := run(t, kubectl, args...)
	if update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
		version := run(t, kubectl, "version", "--client")
		if err := os.WriteFile(filepath.Join(filepath.Dir(golden), VersionFile), version, 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if want, err := os.ReadFile(golden); err != nil {
		t.Errorf("golden file for machines without kubectl: %v (make kubectl-golden)", err)
	} else if !bytes.Equal(want, out) {
		t.Errorf("%s is stale: %s writes\n%s\nthe file, made by %s, holds\n%s\n(make kubectl-golden)", golden, kubectl, out, goldenVersion(golden), want)
	}
	return out
}

func run(t testing.TB, kubectl string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(kubectl, args...)
	// Keep kubectl away from any real cluster and user config.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(home, "none"), "HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", kubectl, strings.Join(args[:min(len(args), 3)], " "), err, stderr.String())
	}
	return out
}

func goldenVersion(golden string) string {
	v, err := os.ReadFile(filepath.Join(filepath.Dir(golden), VersionFile))
	if err != nil {
		return "an unknown kubectl"
	}
	return strings.Join(strings.Fields(string(v)), " ")
}
