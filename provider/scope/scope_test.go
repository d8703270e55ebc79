package scope

import (
	"encoding/base64"
	"strings"
	"testing"
)

func token(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

const podToken = `{"aud":["node-credential-provider"],"sub":"system:serviceaccount:team-a:builder",
	"kubernetes.io":{"namespace":"team-a","serviceaccount":{"name":"builder","uid":"u1"},"pod":{"name":"web-1","uid":"u2"},"node":{"name":"n"}}}`

func TestFromRequest(t *testing.T) {
	id, err := FromRequest(token(podToken), map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !id.HasToken || id.Namespace != "team-a" || id.ServiceAccount != "builder" || id.Pod != "web-1" ||
		!id.HasAudience("node-credential-provider") || id.HasAudience("other") || id.Annotations["a"] != "b" {
		t.Errorf("%+v", id)
	}
	if s := id.String(); s != "service account team-a/builder (pod team-a/web-1)" {
		t.Errorf("String = %q", s)
	}
	// Subject only, audience as a string.
	id, err = FromRequest(token(`{"aud":"x","sub":"system:serviceaccount:ns:sa"}`), nil)
	if err != nil || id.Namespace != "ns" || id.ServiceAccount != "sa" || !id.HasAudience("x") {
		t.Errorf("%+v %v", id, err)
	}
	id, err = FromRequest("", nil)
	if err != nil || id.HasToken || id.String() != "a request without a service-account token" {
		t.Errorf("%+v %v", id, err)
	}
}

func TestFromRequestErrorsNeverQuoteTheToken(t *testing.T) {
	for _, tok := range []string{
		"secretpart",
		"a.secret!!part.c",
		token(`["secretpart"]`),
		token(`{"sub":"secretpart"}`),
		token(`{"aud":5,"sub":"system:serviceaccount:a:b"}`),
	} {
		_, err := FromRequest(tok, nil)
		if err == nil {
			t.Errorf("FromRequest(%q) accepted", tok)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), tok) {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}

func TestPermits(t *testing.T) {
	pod, _ := FromRequest(token(podToken), map[string]string{"ncp.io/access": "release"})
	tokenless := Identity{}
	for _, tc := range []struct {
		name   string
		p      Policy
		id     Identity
		ok     bool
		reason string
	}{
		{"namespace glob", Policy{Namespaces: []string{"team-*"}}, pod, true, ""},
		{"namespace miss", Policy{Namespaces: []string{"team-b"}}, pod, false, `namespace "team-a" is not in allow.namespaces`},
		{"service account", Policy{ServiceAccounts: []string{"team-a/builder"}}, pod, true, ""},
		{"service account glob miss", Policy{ServiceAccounts: []string{"ci/*"}}, pod, false, `service account "team-a/builder" is not in`},
		{"annotation", Policy{Annotations: map[string]string{"ncp.io/access": "release"}}, pod, true, ""},
		{"annotation value", Policy{Annotations: map[string]string{"ncp.io/access": "dev"}}, pod, false, `annotation "ncp.io/access" is "release", allow requires "dev"`},
		{"annotation absent", Policy{Annotations: map[string]string{"other": "x"}}, pod, false, `carries no annotation "other"`},
		{"all lists must match", Policy{Namespaces: []string{"team-a"}, ServiceAccounts: []string{"team-a/other"}}, pod, false, "not in allow.serviceAccounts"},
		{"tokenless denied by default", Policy{Namespaces: []string{"*"}}, tokenless, false, "no service-account token"},
		{"tokenless allowed", Policy{WithoutToken: true}, tokenless, true, ""},
	} {
		ok, reason := tc.p.Permits(tc.id)
		if ok != tc.ok || !strings.Contains(reason, tc.reason) {
			t.Errorf("%s: Permits = %v %q", tc.name, ok, reason)
		}
	}
}

func FuzzFromRequest(f *testing.F) {
	f.Add(token(podToken))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := FromRequest(tok, nil)
		if err == nil && tok != "" && (id.Namespace == "" || id.ServiceAccount == "") {
			t.Fatalf("accepted a token without identity: %+v", id)
		}
	})
}
