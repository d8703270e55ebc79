//go:build linux

package install

import (
	"encoding/json"
	"fmt"
)

// DefaultStateDir holds the state file and the last operation's backups.
const DefaultStateDir = "/var/lib/node-credential-provider/install"

const stateName = "state.json"

// State is what install put on the node, so that uninstall and rollback
// take away exactly that. It holds no time stamps: a second install that
// changes nothing writes nothing, the state file included.
type State struct {
	Version      int    `json:"version"`
	ProviderName string `json:"providerName"`
	// Binary is the plugin in the kubelet's bin dir.
	Binary string `json:"binary"`
	// ProviderConfig is the kubelet's --image-credential-provider-config;
	// ProviderFile the file that holds our entry: our own file in a
	// drop-in directory, or the single file we merged into (Merged).
	ProviderConfig      string `json:"providerConfig"`
	ProviderFile        string `json:"providerFile"`
	Merged              bool   `json:"merged,omitempty"`
	ProviderFileCreated bool   `json:"providerFileCreated,omitempty"`
	// Config is our own configuration file, when install wrote it.
	Config string `json:"config,omitempty"`
	// Flags we added to the kubelet's flag file.
	FlagsFile        string   `json:"flagsFile,omitempty"`
	FlagsVar         string   `json:"flagsVar,omitempty"`
	FlagsAdded       []string `json:"flagsAdded,omitempty"`
	FlagsFileCreated bool     `json:"flagsFileCreated,omitempty"`
	FlagsLineAdded   bool     `json:"flagsLineAdded,omitempty"`
	// Dirs install created, parents first.
	Dirs []string `json:"dirs,omitempty"`
	// Originals are copies (in the state folder) of the files install
	// edited, as they were before the first edit: uninstall writes one back
	// byte for byte, comments and layout included, when what is left after
	// taking our part out means the same.
	Originals map[string]string `json:"originals,omitempty"`
}

func (s *State) encode() []byte {
	data, _ := json.MarshalIndent(s, "", "  ")
	return append(data, '\n')
}

func decodeState(data []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("not a state file: %w", err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("state file version %d, this installer reads version 1", s.Version)
	}
	return &s, nil
}

func (h Host) readState(dir string) (*State, error) {
	p := dir + "/" + stateName
	data, ok, err := h.readFile(p)
	if err != nil || !ok {
		return nil, err
	}
	s, err := decodeState(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}
