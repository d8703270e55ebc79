package pullsecret

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/node-credential-provider/node-credential-provider/provider/dockerconfig"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Entry is one registry of a .dockerconfigjson.
type Entry struct {
	// Server is the key written into "auths". kubectl writes --docker-server
	// as given, and so do we: "https://index.docker.io/v1/", "quay.io/team-a"
	// and "localhost:5443" are all valid, and the kubelet normalizes them.
	Server   string
	Username string
	Password string
	// Email is optional; kubectl leaves it out when empty.
	Email string
}

// configJSON and entryJSON mirror kubectl's DockerConfigJSON and
// DockerConfigEntry (k8s.io/kubectl/pkg/cmd/create): same field names, same
// order, same omitempty, and encoding/json's default escaping, so that the
// bytes equal kubectl's. A test compares them with the real kubectl.
type configJSON struct {
	Auths map[string]entryJSON `json:"auths"`
}

type entryJSON struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// DockerConfigJSON returns the value of a Secret's .dockerconfigjson key for
// entries, as kubectl create secret docker-registry builds it. Two entries
// for the same server (after the kubelet's normalization) are an error
// unless they hold the same credentials, in which case the first is kept.
// Errors name servers, never credentials.
func DockerConfigJSON(entries []Entry) ([]byte, error) {
	entries, err := dedupe(entries)
	if err != nil {
		return nil, err
	}
	cfg := configJSON{Auths: make(map[string]entryJSON, len(entries))}
	for _, e := range entries {
		cfg.Auths[e.Server] = entryJSON{
			Username: e.Username,
			Password: e.Password,
			Email:    e.Email,
			Auth:     dockerconfig.EncodeAuth(e.Username, e.Password),
		}
	}
	return json.Marshal(cfg)
}

// dedupe checks entries before they go into one config: every server must be
// a valid registry key, and two servers the kubelet would read as the same
// key must carry the same credentials (then only the first is kept). The
// result is sorted by server.
func dedupe(entries []Entry) ([]Entry, error) {
	byKey := map[string]int{}
	var out []Entry
	for _, e := range entries {
		if e.Server == "" {
			return nil, fmt.Errorf("a registry server is empty")
		}
		key, err := match.NormalizeKey(e.Server)
		if err != nil {
			return nil, fmt.Errorf("registry %q: %w", e.Server, err)
		}
		if e.Username == "" && e.Password == "" {
			// kubectl refuses these, and the kubelet would pull anonymously.
			return nil, fmt.Errorf("registry %q: no username or password", e.Server)
		}
		if i, dup := byKey[key]; dup {
			if out[i].Username != e.Username || out[i].Password != e.Password || out[i].Email != e.Email {
				return nil, fmt.Errorf("registries %q and %q are the same key %q for the kubelet but have different credentials", out[i].Server, e.Server, key)
			}
			continue
		}
		byKey[key] = len(out)
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out, nil
}
