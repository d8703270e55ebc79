package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/node-credential-provider/node-credential-provider/provider"
	"github.com/node-credential-provider/node-credential-provider/provider/match"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
)

// Group is the API group of the kubelet's credential provider protocol.
const Group = "credentialprovider.kubelet.k8s.io"

// APIVersions are the versions we answer, newest first.
var APIVersions = []string{Group + "/v1", Group + "/v1beta1", Group + "/v1alpha1"}

// MaxRequestSize bounds what we read from stdin. A request is an image name,
// and in v1 a service-account token and a few annotations: a few kilobytes.
const MaxRequestSize = 1 << 20

const (
	requestKind  = "CredentialProviderRequest"
	responseKind = "CredentialProviderResponse"
)

// Request is a decoded CredentialProviderRequest.
type Request struct {
	APIVersion string
	// Image as the kubelet sent it.
	Image string
	// ServiceAccountToken and ServiceAccountAnnotations are sent by v1
	// kubelets configured with tokenAttributes. The token is a secret.
	ServiceAccountToken       string
	ServiceAccountAnnotations map[string]string
}

type requestJSON struct {
	Kind                      string            `json:"kind"`
	APIVersion                string            `json:"apiVersion"`
	Image                     string            `json:"image"`
	ServiceAccountToken       string            `json:"serviceAccountToken"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations"`
}

// ReadRequest reads exactly one request from r. Unknown fields are ignored:
// the kubelet has added fields to v1 without changing its version.
func ReadRequest(r io.Reader) (*Request, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request from stdin: %w", err)
	}
	if len(data) > MaxRequestSize {
		return nil, fmt.Errorf("the request on stdin is larger than %d MiB; a CredentialProviderRequest is a few kilobytes", MaxRequestSize>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("stdin is empty: expected a CredentialProviderRequest as JSON, as the kubelet sends it")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var rj requestJSON
	if err := dec.Decode(&rj); err != nil {
		return nil, fmt.Errorf("the request on stdin is not a CredentialProviderRequest: %w", provider.DescribeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("stdin holds more than one JSON document; expected exactly one CredentialProviderRequest")
	}
	if rj.Kind != requestKind {
		return nil, fmt.Errorf("the request's kind is %s, expected %q", quoteShort(rj.Kind), requestKind)
	}
	if !Supported(rj.APIVersion) {
		return nil, fmt.Errorf("the request's apiVersion is %s; supported: %s", quoteShort(rj.APIVersion), strings.Join(APIVersions, ", "))
	}
	if rj.Image == "" {
		return nil, errors.New("the request has no image")
	}
	return &Request{
		APIVersion:                rj.APIVersion,
		Image:                     rj.Image,
		ServiceAccountToken:       rj.ServiceAccountToken,
		ServiceAccountAnnotations: rj.ServiceAccountAnnotations,
	}, nil
}

// Supported reports whether we speak apiVersion.
func Supported(apiVersion string) bool {
	for _, v := range APIVersions {
		if v == apiVersion {
			return true
		}
	}
	return false
}

func quoteShort(s string) string {
	if s == "" {
		return "missing"
	}
	return shorten.Quote(s)
}

type responseJSON struct {
	Kind          string              `json:"kind"`
	APIVersion    string              `json:"apiVersion"`
	CacheKeyType  string              `json:"cacheKeyType"`
	CacheDuration string              `json:"cacheDuration"`
	Auth          map[string]authJSON `json:"auth"`
}

type authJSON struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// EncodeResponse renders the answer as a CredentialProviderResponse of
// apiVersion, one JSON object and a newline. Every field the kubelet knows is
// written, cacheDuration included, and no other: the kubelet decodes strictly.
func EncodeResponse(apiVersion string, a *provider.Answer) ([]byte, error) {
	if !Supported(apiVersion) {
		return nil, fmt.Errorf("cannot answer in apiVersion %s", quoteShort(apiVersion))
	}
	resp := responseJSON{
		Kind:          responseKind,
		APIVersion:    apiVersion,
		CacheKeyType:  a.CacheKeyType,
		CacheDuration: formatDuration(a.CacheDuration),
		Auth:          make(map[string]authJSON, len(a.Credentials)),
	}
	if resp.CacheKeyType == "" {
		resp.CacheKeyType = provider.CacheKeyImage
	}
	// Each key goes out spelled so that the kubelet reads it back as the
	// key we matched; a second credential for one key gets another
	// spelling, and the kubelet keeps both, as for a docker config.
	for i, c := range a.Credentials {
		n := 0 // earlier credentials under the same key (a handful at most)
		for _, earlier := range a.Credentials[:i] {
			if earlier.Key == c.Key {
				n++
			}
		}
		w, err := match.WireKey(c.Key, n)
		if err != nil {
			return nil, fmt.Errorf("the credential for %s cannot be sent: %w", quoteShort(c.Key), err)
		}
		resp.Auth[w] = authJSON{Username: c.Username, Password: c.Password}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&resp); err != nil {
		return nil, errors.New("encoding the response failed")
	}
	return buf.Bytes(), nil
}

// formatDuration writes a duration as metav1.Duration does, so that "0s" and
// "1m0s" round-trip through the kubelet unchanged.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.String()
}

// ResolveFunc answers a request for image, the request's image normalized.
// An error fails the run with that message.
type ResolveFunc func(req *Request, image string) (provider.Answer, error)

// Handle resolves req and decides, with provider.Decide, what the answer
// means: everything Serve does short of reading and writing. explain calls
// it too, so that it reports what plugin mode does. The answer is nil when
// the run failed before there was one (an invalid image, a token that
// cannot be read).
//
// A failure is an empty answer to the kubelet (no credentials, nothing
// cached), but the kubelet logs our message: the operator learns why.
func Handle(req *Request, resolve ResolveFunc) (*provider.Answer, provider.Outcome) {
	image, err := match.NormalizeImage(req.Image)
	if err != nil {
		return nil, provider.Failure(fmt.Errorf("the request's image %s is not a valid image reference: %w", quoteShort(req.Image), err))
	}
	ans, err := resolve(req, image)
	if err != nil {
		return nil, provider.Failure(err)
	}
	return &ans, provider.Decide(&ans, req.ServiceAccountToken)
}

// Serve handles one plugin invocation: it reads the request from in, calls
// Handle and, unless the outcome is a failure, writes the response to out
// in one write. It returns the answer, nil when there is none, so that the
// caller can log it, and the outcome, whose code is the exit code. On
// failure nothing was written.
func Serve(in io.Reader, out io.Writer, resolve ResolveFunc) (*provider.Answer, provider.Outcome) {
	req, err := ReadRequest(in)
	if err != nil {
		return nil, provider.Failure(err)
	}
	ans, o := Handle(req, resolve)
	if o.Failed() {
		return ans, o
	}
	data, err := EncodeResponse(req.APIVersion, ans)
	if err != nil {
		return ans, provider.Failure(err)
	}
	if _, err := out.Write(data); err != nil {
		return ans, provider.Failure(fmt.Errorf("writing the response to stdout: %w", err))
	}
	return ans, o
}
