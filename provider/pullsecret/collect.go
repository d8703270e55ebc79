package pullsecret

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/credhelper"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// Request names the credentials to export.
type Request struct {
	// Registries as the user wrote them: each is written into the Secret
	// unchanged, as kubectl writes --docker-server.
	Registries []string
	// Images are written under the key the kubelet would use for them.
	Images []string
	// All asks for every key the store can answer for.
	All bool
}

// Missing is something asked for that the store has no credential for.
type Missing struct {
	// What is the registry or image as given.
	What   string
	Reason string
}

// Collected is what the store gave for a Request.
type Collected struct {
	Entries []Entry
	Missing []Missing
	// Problems are sources that could not be read completely. They never
	// hold secrets.
	Problems []error
	// Notes explain decisions for -v. Never secret.
	Notes []string
}

// addProblem records err once: every lookup reads every source again, and
// an unreadable file would otherwise be reported once per registry.
func (c *Collected) addProblem(err error) {
	if err == nil {
		return
	}
	for _, p := range c.Problems {
		if p.Error() == err.Error() {
			return
		}
	}
	c.Problems = append(c.Problems, err)
}

// probeRepo is the repository of the image we resolve to ask the store about
// a registry: sources answer for images, and a registry key covers every
// image under it. Its name is long so that no real path-scoped key is a
// prefix of it by accident.
const probeRepo = "node-credential-provider-probe/export-secret"

// Collect resolves req through store, exactly as the plugin would resolve
// images for the kubelet, and decides what each answer means as plugin mode
// does (provider.Decide): where the plugin would fail, the failure is the
// reason something is Missing. Invalid registries or images are an error;
// those the store has no credential for are returned in Missing.
func Collect(store *provider.Store, req Request) (Collected, error) {
	var c Collected
	resolve := func(image string) provider.Answer {
		// An operator's command: no kubelet deadline, each helper call
		// bounded by its own timeout.
		ans := store.Resolve(context.Background(), image)
		for _, s := range ans.Steps {
			c.addProblem(s.Err)
			for _, n := range s.Result.Notes {
				c.Notes = append(c.Notes, fmt.Sprintf("%s: %s: %s", image, s.Source, n))
			}
		}
		return ans
	}

	for _, r := range req.Registries {
		key, err := registryKey(r)
		if err != nil {
			return Collected{}, err
		}
		ans := resolve(probeImage(key))
		// The outcome names what was asked for: the registry, not the
		// probe image.
		asked := ans
		asked.Image = r
		if o := provider.Decide(&asked, ""); o.Failed() {
			c.Missing = append(c.Missing, Missing{What: r, Reason: o.Error})
			continue
		}
		cred, ok := covering(ans.Credentials, key)
		if !ok {
			c.Missing = append(c.Missing, Missing{What: r, Reason: missingReason(ans, key)})
			continue
		}
		c.Notes = append(c.Notes, fmt.Sprintf("registry %s: credential %q from %s", r, cred.Key, ans.Source))
		c.Entries = append(c.Entries, Entry{Server: r, Username: cred.Username, Password: cred.Password})
	}

	for _, img := range req.Images {
		norm, err := match.NormalizeImage(img)
		if err != nil {
			return Collected{}, fmt.Errorf("image %q: %w", img, err)
		}
		ans := resolve(norm)
		if o := provider.Decide(&ans, ""); o.Failed() {
			c.Missing = append(c.Missing, Missing{What: img, Reason: o.Error})
			continue
		}
		if len(ans.Credentials) == 0 {
			c.Missing = append(c.Missing, Missing{What: img, Reason: "no source has a credential for " + norm})
			continue
		}
		// The kubelet sends every credential of the answer and the runtime
		// tries them in turn, the most specific key first; the Secret
		// keeps them all, but holds one per key.
		exported := map[string]bool{}
		for _, cred := range ans.Credentials {
			if exported[cred.Key] {
				c.Notes = append(c.Notes, fmt.Sprintf("image %s: another credential for %q from %s is not exported: a Secret holds one credential per key", img, cred.Key, ans.Source))
				continue
			}
			exported[cred.Key] = true
			c.Notes = append(c.Notes, fmt.Sprintf("image %s: credential %q from %s", img, cred.Key, ans.Source))
			c.Entries = append(c.Entries, Entry{Server: server(cred.Key), Username: cred.Username, Password: cred.Password})
		}
	}

	if req.All {
		keys, err := listKeys(store, &c)
		if err != nil {
			return Collected{}, err
		}
		for _, key := range keys {
			image, ok := probeImageForKey(key)
			if !ok {
				c.Notes = append(c.Notes, fmt.Sprintf("key %q skipped: no image name matches its glob", key))
				continue
			}
			ans := resolve(image)
			found := false
			for _, cred := range ans.Credentials {
				if cred.Key == key {
					c.Entries = append(c.Entries, Entry{Server: server(key), Username: cred.Username, Password: cred.Password})
					found = true
					break
				}
			}
			if !found {
				// An earlier source answers for the same images; the kubelet
				// would never use this key, and neither should the Secret.
				c.Notes = append(c.Notes, fmt.Sprintf("key %q skipped: %s answers for its images first", key, ans.Source))
			}
		}
	}
	return c, nil
}

// listKeys returns the keys of every source that can list them, sorted.
func listKeys(store *provider.Store, c *Collected) ([]string, error) {
	seen := map[string]bool{}
	var keys []string
	listers := 0
	for _, src := range store.Sources {
		l, ok := src.(provider.Lister)
		if !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("%s cannot list its keys; --all leaves it out", src.Name()))
			continue
		}
		listers++
		ks, err := l.Keys()
		c.addProblem(err)
		for _, k := range ks {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if listers == 0 {
		return nil, errors.New("--all: no source can list its keys; name registries with --registry or --image")
	}
	sort.Strings(keys)
	return keys, nil
}

// registryKey normalizes a --registry as the kubelet normalizes keys.
func registryKey(r string) (string, error) {
	if r == "" {
		return "", errors.New("a registry is empty")
	}
	key, err := match.NormalizeKey(r)
	if err != nil || key == "" || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("registry %q: not a registry host[:port][/path]", r)
	}
	if strings.ContainsAny(key, "*?[") {
		// A glob is a fine key but names no image to resolve; --all
		// exports glob keys the store holds.
		return "", fmt.Errorf("registry %q: globs are not supported here; name a registry, or use --all", r)
	}
	return key, nil
}

// probeImage is an image under key, as the kubelet would send it.
func probeImage(key string) string {
	return strings.TrimSuffix(credhelper.HubKey(key), "/") + "/" + probeRepo
}

// probeImageForKey is probeImage for a key that may hold globs: each glob
// label is replaced by a name it matches, when that is easy to find.
func probeImageForKey(key string) (string, bool) {
	if !strings.ContainsAny(key, "*?[") {
		return probeImage(key), true
	}
	host, path, _ := strings.Cut(key, "/")
	labels := strings.Split(host, ".")
	for i, l := range labels {
		l = strings.ReplaceAll(l, "*", "")
		l = strings.ReplaceAll(l, "?", "x")
		if l == "" {
			l = "x"
		}
		labels[i] = l
	}
	host = strings.Join(labels, ".")
	if path != "" {
		host += "/" + path
	}
	image := probeImage(host)
	return image, match.Matches(key, image)
}

// covering returns the most specific credential that applies to every image
// under key, not only to some of them: a credential for quay.io/team-a must
// not be written under quay.io.
func covering(creds []provider.Credential, key string) (provider.Credential, bool) {
	for _, c := range creds { // most specific first
		if match.Matches(credhelper.HubKey(c.Key), credhelper.HubKey(key)) {
			return c, true
		}
	}
	return provider.Credential{}, false
}

func missingReason(ans provider.Answer, key string) string {
	if len(ans.Credentials) == 0 {
		for _, s := range ans.Steps {
			if s.Result.PathScoped {
				return fmt.Sprintf("%s holds credentials only for repository paths under it; name such a path, or use --all", s.Source)
			}
		}
		return "no source has a credential for it"
	}
	keys := make([]string, len(ans.Credentials))
	for i, c := range ans.Credentials {
		keys[i] = c.Key
	}
	return fmt.Sprintf("%s holds only credentials scoped to part of %s (%s); name one of them", ans.Source, key, strings.Join(keys, ", "))
}

// server spells a key for a Secret so that the kubelet, which strips a
// scheme and a leading /v1/ or /v2/ from a Secret's keys as from a
// plugin's, reads back exactly the key: quay.io/v2/team is written
// quay.io/v1/v2/team (match.WireKey).
func server(key string) string {
	if w, err := match.WireKey(key, 0); err == nil {
		return w
	}
	return key
}
