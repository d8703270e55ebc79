//go:build linux

package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"sigs.k8s.io/yaml"

	"github.com/node-credential-provider/node-credential-provider/config"
)

// rawConfig is a CredentialProviderConfig whose providers are kept as the
// JSON they were read as, so that a merge changes only our entry: every
// other provider keeps each of its fields and values, as it was written.
type rawConfig struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Providers  []json.RawMessage `json:"providers"`
}

// providerFile renders a file holding only p, for a drop-in directory or a
// new single file.
func providerFile(p config.KubeletProvider) ([]byte, error) {
	cfg := config.KubeletConfig{APIVersion: config.KubeletGroup + "/v1", Kind: "CredentialProviderConfig", Providers: []config.KubeletProvider{p}}
	return yaml.Marshal(cfg)
}

// mergeProvider returns data (a CredentialProviderConfig) with p in place
// of the provider of the same name, or appended. A file the kubelet would
// refuse is refused here too, with its reason. When the file already holds
// p as it is, the bytes come back unchanged.
func mergeProvider(data []byte, p config.KubeletProvider) ([]byte, error) {
	kc, err := config.ParseKubelet(data)
	if err != nil {
		return nil, fmt.Errorf("%w; the kubelet refuses this file too, so it is left alone", err)
	}
	if cur, err := config.FindProvider(kc.Providers, p.Name); err == nil && reflect.DeepEqual(normal(*cur), normal(p)) {
		return data, nil
	}
	raw, asJSON, err := decodeRaw(data)
	if err != nil {
		return nil, err
	}
	ours, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	replaced := false
	for i := range raw.Providers {
		if kc.Providers[i].Name == p.Name {
			raw.Providers[i], replaced = ours, true
		}
	}
	if !replaced {
		raw.Providers = append(raw.Providers, ours)
	}
	return encodeRaw(raw, asJSON)
}

// removeProvider returns data without the provider named name, and how
// many providers are left.
func removeProvider(data []byte, name string) ([]byte, int, error) {
	kc, err := config.ParseKubelet(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%w; left alone", err)
	}
	if _, err := config.FindProvider(kc.Providers, name); err != nil {
		return data, len(kc.Providers), nil
	}
	raw, asJSON, err := decodeRaw(data)
	if err != nil {
		return nil, 0, err
	}
	kept := raw.Providers[:0]
	for i := range raw.Providers {
		if kc.Providers[i].Name != name {
			kept = append(kept, raw.Providers[i])
		}
	}
	raw.Providers = kept
	out, err := encodeRaw(raw, asJSON)
	return out, len(kept), err
}

func decodeRaw(data []byte) (*rawConfig, bool, error) {
	asJSON := len(bytes.TrimSpace(data)) > 0 && bytes.TrimSpace(data)[0] == '{'
	js := data
	if !asJSON {
		var err error
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, false, err
		}
	}
	var raw rawConfig
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, false, err
	}
	return &raw, asJSON, nil
}

// encodeRaw writes the file in the format it was read in.
func encodeRaw(raw *rawConfig, asJSON bool) ([]byte, error) {
	js, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return nil, err
	}
	if asJSON {
		return append(js, '\n'), nil
	}
	return yaml.JSONToYAML(js)
}

// normal drops the differences that carry no meaning, for comparing.
func normal(p config.KubeletProvider) config.KubeletProvider {
	p.File = ""
	if len(p.Args) == 0 {
		p.Args = nil
	}
	if len(p.Env) == 0 {
		p.Env = nil
	}
	return p
}
