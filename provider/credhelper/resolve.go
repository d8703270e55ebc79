package credhelper

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"
)

// DockerHubServerURL is the key under which docker stores Docker Hub
// credentials, in config files and in helpers alike.
const DockerHubServerURL = "https://index.docker.io/v1/"

// dockerHubKey is the key under which a helper's Docker Hub credential goes
// back to the kubelet (see the package comment).
const dockerHubKey = "docker.io"

// AnswerKey returns the key under which the credential a helper holds for
// serverURL answers for image, and whether the kubelet will match that key
// to the image at all. Docker Hub's index.docker.io becomes docker.io for
// Docker Hub images.
func AnswerKey(serverURL, image string) (string, bool) {
	key, err := Key(serverURL)
	if err != nil {
		return "", false
	}
	return key, match.Matches(key, image)
}

// Key normalizes a helper's server URL into the key its credential answers
// under: match.NormalizeKey, with index.docker.io written docker.io.
func Key(serverURL string) (string, error) {
	key, err := match.NormalizeKey(serverURL)
	if err != nil {
		return "", err
	}
	return HubKey(key), nil
}

// HubKey rewrites a normalized key on index.docker.io to docker.io, so that
// the kubelet matches it directly to Docker Hub images, and so that keys
// docker login writes compare equal to the ones images spell.
func HubKey(key string) string {
	host, path, _ := strings.Cut(key, "/")
	if host != match.DefaultRegistryKey {
		return key
	}
	if path == "" {
		return dockerHubKey
	}
	return dockerHubKey + "/" + path
}

// ServerURL is what docker passes to a helper's get for an image: the
// registry's host[:port], or DockerHubServerURL for Docker Hub.
func ServerURL(image string) string {
	if match.IsDockerHub(image) {
		return DockerHubServerURL
	}
	return match.Registry(image)
}

// Resolve finds the helper's credentials for image. It lists the helper's
// server URLs and gets each one whose key the kubelet will match to image;
// when the helper cannot list, or lists nothing that matches (helpers such
// as ecr-login answer for registries they never stored), it gets ServerURL
// (image). Each credential is keyed by AnswerKey.
func Resolve(ctx context.Context, h *Helper, image string) (provider.Result, error) {
	var res provider.Result
	var errs []error
	listed, listErr := h.List(ctx)
	if listErr != nil {
		if failedToRun(listErr) {
			// A get would hang or fail the same way.
			return res, listErr
		}
		errs = append(errs, listErr)
		res.Notes = append(res.Notes, h.Command()+" list failed; asking for the registry directly")
	}
	var urls []string
	for u := range listed {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	wanted := map[string]string{} // answer key -> server URL to get
	var order []string
	for _, u := range urls {
		key, ok := AnswerKey(u, image)
		if !ok {
			if key != "" && match.HasPath(key) && match.SameHost(key, image) {
				res.PathScoped = true
			}
			continue
		}
		if match.HasPath(key) {
			res.PathScoped = true
		}
		if first, dup := wanted[key]; dup {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %q skipped: same key as %q", h.Command(), u, first))
			continue
		}
		wanted[key] = u
		order = append(order, key)
	}
	if len(order) == 0 {
		u := ServerURL(image)
		key, _ := AnswerKey(u, image)
		wanted[key] = u
		order = append(order, key)
	}
	for _, key := range order {
		cred, note, err := Ask(ctx, h, wanted[key], key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res.Notes = append(res.Notes, note)
		if cred != nil {
			res.Credentials = append(res.Credentials, *cred)
		}
	}
	if len(res.Credentials) > 0 {
		// A failed list does not matter once the registry answered.
		errs = withoutListError(errs, listErr)
	}
	return res, errors.Join(errs...)
}

// Ask asks the helper for one server URL and says what came of it: the
// credential under key when the helper has a usable one, and a note either
// way.
func Ask(ctx context.Context, h *Helper, serverURL, key string) (*provider.Credential, string, error) {
	user, secret, found, err := h.Get(ctx, serverURL)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, fmt.Sprintf("%s has no credential for %q", h.Command(), serverURL), nil
	}
	if ok, why := Usable(user, secret); !ok {
		return nil, fmt.Sprintf("%s: %q skipped: %s", h.Command(), serverURL, why), nil
	}
	note := fmt.Sprintf("%s: %q answers as %q", h.Command(), serverURL, key)
	return &provider.Credential{Key: key, Username: user, Password: secret}, note, nil
}

func withoutListError(errs []error, listErr error) []error {
	if listErr == nil {
		return errs
	}
	out := errs[:0]
	for _, e := range errs {
		if e != listErr {
			out = append(out, e)
		}
	}
	return out
}

// Keys returns the keys the helper lists, normalized as they would answer
// (docker.io for Docker Hub), sorted and without duplicates.
// Listing is an operator's act (export-secret --all), outside any kubelet
// run: each call is bounded by the helper's own timeout only.
func Keys(h *Helper) ([]string, error) {
	listed, err := h.List(context.Background())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var keys []string
	for u := range listed {
		k, err := Key(u)
		if err != nil {
			continue
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}
