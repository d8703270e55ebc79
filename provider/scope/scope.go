package scope

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Identity is who is pulling, as far as the request tells.
type Identity struct {
	// HasToken is false for requests without a service-account token:
	// static pods, or a kubelet without tokenAttributes.
	HasToken       bool
	Namespace      string
	ServiceAccount string
	Pod            string
	Audiences      []string
	// Annotations are the service account's annotations the kubelet was
	// configured to pass.
	Annotations map[string]string
}

// String names the identity for logs, never with the token.
func (id Identity) String() string {
	if !id.HasToken {
		return "a request without a service-account token"
	}
	s := fmt.Sprintf("service account %s/%s", id.Namespace, id.ServiceAccount)
	if id.Pod != "" {
		s += fmt.Sprintf(" (pod %s/%s)", id.Namespace, id.Pod)
	}
	return s
}

type claims struct {
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"`
	K8s      struct {
		Namespace      string `json:"namespace"`
		ServiceAccount struct {
			Name string `json:"name"`
		} `json:"serviceaccount"`
		Pod *struct {
			Name string `json:"name"`
		} `json:"pod"`
	} `json:"kubernetes.io"`
}

var (
	errNotJWT    = errors.New("not a JWT (expected three dot-separated parts)")
	errNotBase64 = errors.New("the JWT's payload is not base64url")
	errNotClaims = errors.New("the JWT's payload is not a JSON object of claims")
)

// DecodeJWTClaims decodes the payload of a JWT into claims, without
// verifying its signature: for a service-account token the kubelet fetched
// for this pod, and for the lifetime ("exp") of a helper's credential.
// Errors never quote the token.
func DecodeJWTClaims(token string, claims any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return errNotBase64
	}
	if json.Unmarshal(payload, claims) != nil {
		return errNotClaims
	}
	return nil
}

// FromRequest reads the identity from a request's token and annotations. An
// empty token gives an identity without a token. Errors never quote the
// token.
func FromRequest(token string, annotations map[string]string) (Identity, error) {
	id := Identity{Annotations: annotations}
	if token == "" {
		return id, nil
	}
	var c claims
	switch err := DecodeJWTClaims(token, &c); {
	case errors.Is(err, errNotJWT):
		return id, errors.New("the service-account token is not a JWT (expected three dot-separated parts)")
	case errors.Is(err, errNotBase64):
		return id, errors.New("the service-account token's payload is not base64url")
	case err != nil:
		return id, errors.New("the service-account token's payload is not a JSON object of claims")
	}
	id.HasToken = true
	id.Namespace = c.K8s.Namespace
	id.ServiceAccount = c.K8s.ServiceAccount.Name
	if c.K8s.Pod != nil {
		id.Pod = c.K8s.Pod.Name
	}
	// Older tokens carry the identity only in the subject.
	if id.Namespace == "" || id.ServiceAccount == "" {
		if rest, ok := strings.CutPrefix(c.Subject, "system:serviceaccount:"); ok {
			if ns, name, ok := strings.Cut(rest, ":"); ok {
				id.Namespace, id.ServiceAccount = ns, name
			}
		}
	}
	if id.Namespace == "" || id.ServiceAccount == "" {
		return id, errors.New("the service-account token names no namespace and service account")
	}
	if len(c.Audience) > 0 {
		var one string
		if json.Unmarshal(c.Audience, &one) == nil {
			id.Audiences = []string{one}
		} else if err := json.Unmarshal(c.Audience, &id.Audiences); err != nil {
			return id, errors.New("the service-account token's audience is neither a string nor a list")
		}
	}
	return id, nil
}

// Policy says which pods may use a source. Every non-empty list must match;
// entries are shell globs.
type Policy struct {
	Namespaces      []string
	ServiceAccounts []string // NAMESPACE/NAME
	Annotations     map[string]string
	// WithoutToken lets requests without a token use the source.
	WithoutToken bool
}

// Permits reports whether id may use a source guarded by p, and why not.
func (p *Policy) Permits(id Identity) (bool, string) {
	if !id.HasToken {
		if p.WithoutToken {
			return true, ""
		}
		return false, "the request has no service-account token and the source's allow rules do not set withoutToken"
	}
	if len(p.Namespaces) > 0 && !anyGlob(p.Namespaces, id.Namespace) {
		return false, fmt.Sprintf("namespace %q is not in allow.namespaces %v", id.Namespace, p.Namespaces)
	}
	sa := id.Namespace + "/" + id.ServiceAccount
	if len(p.ServiceAccounts) > 0 && !anyGlob(p.ServiceAccounts, sa) {
		return false, fmt.Sprintf("service account %q is not in allow.serviceAccounts %v", sa, p.ServiceAccounts)
	}
	keys := make([]string, 0, len(p.Annotations))
	for k := range p.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got, ok := id.Annotations[k]
		if !ok {
			return false, fmt.Sprintf("the request carries no annotation %q (the kubelet passes only the keys in its tokenAttributes)", k)
		}
		if got != p.Annotations[k] {
			return false, fmt.Sprintf("annotation %q is %q, allow requires %q", k, got, p.Annotations[k])
		}
	}
	return true, ""
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// HasAudience reports whether the identity's token was minted for aud.
func (id Identity) HasAudience(aud string) bool {
	for _, a := range id.Audiences {
		if a == aud {
			return true
		}
	}
	return false
}
