package kind_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/pelletier/go-toml"
)

// kindPatchContainerd applies merge patches to a containerd config.toml the
// way kind's pkg/internal/patch.ContainerdTOML does (it is internal, so it is
// restated here with kind's own TOML library): TOML to JSON with go-toml,
// a patch whose `version` is set and differs from the base's is skipped.
// It returns the patched config as a map and how many patches applied.
func kindPatchContainerd(t *testing.T, base string, patches []string) (map[string]any, int) {
	t.Helper()
	version := func(doc string) int64 {
		tree, err := toml.Load(doc)
		if err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		v, _ := tree.Get("version").(int64)
		return v
	}
	toJSON := func(doc string) []byte {
		tree, err := toml.Load(doc)
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(tree.ToMap())
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	baseVersion := version(base)
	if baseVersion == 0 {
		t.Fatal("kind refuses a base config without version")
	}
	j, applied := toJSON(base), 0
	for _, p := range patches {
		if v := version(p); v != 0 && v != baseVersion {
			continue
		}
		var err error
		if j, err = jsonpatch.MergePatch(j, toJSON(p)); err != nil {
			t.Fatal(err)
		}
		applied++
	}
	var out map[string]any
	if err := json.Unmarshal(j, &out); err != nil {
		t.Fatal(err)
	}
	return out, applied
}

func lookup(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// TestKindConfigContainerdPatches: exactly one of containerdConfigPatches
// applies to kind's node config, whichever containerd config version it is,
// and it points the CRI registry at the mounted certs.d. The version 2 base
// is kind's own (images/base/files/etc/containerd/config.toml at the kind
// version go.mod requires); the version 3 base is containerd 2.x's layout.
func TestKindConfigContainerdPatches(t *testing.T) {
	c := loadKindConfig(t)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kind").Output()
	if err != nil {
		t.Fatalf("go list -m sigs.k8s.io/kind: %v", err)
	}
	kindBase, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "images/base/files/etc/containerd/config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, base string
		table      []string
	}{
		{"kind's config.toml", string(kindBase), []string{"plugins", "io.containerd.grpc.v1.cri", "registry"}},
		{"a version 3 config.toml", "version = 3\n[plugins.\"io.containerd.cri.v1.images\"]\n  snapshotter = \"overlayfs\"\n",
			[]string{"plugins", "io.containerd.cri.v1.images", "registry"}},
	} {
		patched, applied := kindPatchContainerd(t, tc.base, c.ContainerdConfigPatches)
		if applied != 1 {
			t.Errorf("%s: %d of %d patches apply, want exactly 1", tc.name, applied, len(c.ContainerdConfigPatches))
		}
		if got := lookup(patched, append(tc.table, "config_path")...); got != "/etc/containerd/certs.d" {
			t.Errorf("%s: %s.config_path = %v, want /etc/containerd/certs.d", tc.name, strings.Join(tc.table, "."), got)
		}
	}
}
