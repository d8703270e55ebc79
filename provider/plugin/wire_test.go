package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	credentialprovider "k8s.io/kubelet/pkg/apis/credentialprovider"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

var update = flag.Bool("update", false, "rewrite golden files")

// kubeletCodecs builds what the kubelet decodes plugin responses with: its
// credential provider scheme and a strict codec factory.
func kubeletCodecs(t testing.TB) serializer.CodecFactory {
	t.Helper()
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict)
}

var sampleAnswer = provider.Answer{
	Image: "registry.example.com/team/app",
	Credentials: []provider.Credential{
		{Key: "registry.example.com/team", Username: "team", Password: "p<a>s&s\"w\\o:rd"},
		{Key: "*.example.com", Username: "", Password: ""},
	},
	CacheKeyType:  provider.CacheKeyImage,
	CacheDuration: 90 * time.Second,
}

// Our bytes, per version, are what the kubelet's strict decoder accepts, and
// they decode to what we meant.
func TestResponsesPassTheKubeletsStrictDecoder(t *testing.T) {
	codecs := kubeletCodecs(t)
	for _, v := range APIVersions {
		for _, a := range []provider.Answer{sampleAnswer, {Image: "docker.io/library/nginx"}} {
			data, err := EncodeResponse(v, &a)
			if err != nil {
				t.Fatal(err)
			}
			obj, gvk, err := codecs.UniversalDecoder().Decode(data, nil, nil)
			if err != nil {
				t.Fatalf("%s: kubelet's decoder rejects %s: %v", v, data, err)
			}
			if gvk.GroupVersion().String() != v || gvk.Kind != "CredentialProviderResponse" {
				t.Errorf("gvk = %v", gvk)
			}
			resp := obj.(*credentialprovider.CredentialProviderResponse)
			if string(resp.CacheKeyType) != a.CacheKeyType && !(a.CacheKeyType == "" && resp.CacheKeyType == credentialprovider.ImagePluginCacheKeyType) {
				t.Errorf("cacheKeyType = %q", resp.CacheKeyType)
			}
			if resp.CacheDuration == nil || resp.CacheDuration.Duration != a.CacheDuration {
				t.Errorf("cacheDuration = %v, want %v", resp.CacheDuration, a.CacheDuration)
			}
			if len(resp.Auth) != len(a.Credentials) {
				t.Errorf("auth = %v", resp.Auth)
			}
			for _, c := range a.Credentials {
				got, ok := resp.Auth[c.Key]
				if !ok || got.Username != c.Username || got.Password != c.Password {
					t.Errorf("auth[%q] = %+v", c.Key, got)
				}
			}
		}
	}
}

// The strict decoder in that test must be able to fail, or it proves nothing.
func TestKubeletsStrictDecoderRejectsNearMisses(t *testing.T) {
	codecs := kubeletCodecs(t)
	for _, bad := range []string{
		`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image","cachekeytype":"Image"}`,
		`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image","extra":1}`,
		`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image","cacheKeyType":"Image"}`,
		`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image","auth":{"r":{"username":"u","passwd":"p"}}}`,
	} {
		if _, _, err := codecs.UniversalDecoder().Decode([]byte(bad), nil, nil); err == nil {
			t.Errorf("strict decoder accepted %s", bad)
		}
	}
}

// Requests as the kubelet encodes them, in every version, decode to the same
// request.
func TestRequestsAsTheKubeletEncodesThem(t *testing.T) {
	codecs := kubeletCodecs(t)
	for _, v := range APIVersions {
		gv, err := schema.ParseGroupVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		enc := codecs.EncoderForVersion(codecs.LegacyCodec(gv), gv)
		in := &credentialprovider.CredentialProviderRequest{Image: "localhost:5443/lab/busybox"}
		if strings.HasSuffix(v, "/v1") {
			in.ServiceAccountToken = "header.payload.sig"
			in.ServiceAccountAnnotations = map[string]string{"example.com/role": "puller"}
		}
		data, err := runtime.Encode(enc, in)
		if err != nil {
			t.Fatal(err)
		}
		req, err := ReadRequest(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v (request %s)", v, err, data)
		}
		if req.APIVersion != v || req.Image != in.Image || req.ServiceAccountToken != in.ServiceAccountToken ||
			req.ServiceAccountAnnotations["example.com/role"] != in.ServiceAccountAnnotations["example.com/role"] {
			t.Errorf("%s: got %+v from %s", v, req, data)
		}
	}
}

// Golden bytes per version: what the kubelet reads from us, byte for byte.
func TestGoldenResponses(t *testing.T) {
	for _, v := range APIVersions {
		data, err := EncodeResponse(v, &sampleAnswer)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "response-"+v[strings.LastIndexByte(v, '/')+1:]+".golden.json")
		if *update {
			if err := os.WriteFile(golden, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s:\n got %s\nwant %s", v, data, want)
		}
	}
}

func TestReadRequestErrors(t *testing.T) {
	const v1 = `"apiVersion":"credentialprovider.kubelet.k8s.io/v1"`
	for _, tc := range []struct{ in, want string }{
		{"", "stdin is empty"},
		{" \n\t", "stdin is empty"},
		{"{", "not a CredentialProviderRequest: not valid JSON (truncated)"},
		{"{'image':1}", "not valid JSON (syntax error at byte 2)"},
		{"[]", "must be an object, not array"},
		{`{"kind":"CredentialProviderRequest",` + v1 + `,"image":5}`, `field "image" must be a string, not number`},
		{`{"kind":"CredentialProviderRequest",` + v1 + `,"image":"a"}{}`, "more than one JSON document"},
		{`{"kind":"CredentialProviderRequest",` + v1 + `,"image":"a"} x`, "more than one JSON document"},
		{`{"kind":"CredentialProviderResponse",` + v1 + `,"image":"a"}`, `kind is "CredentialProviderResponse", expected "CredentialProviderRequest"`},
		{`{` + v1 + `,"image":"a"}`, `kind is missing`},
		{`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v2","image":"a"}`, `apiVersion is "credentialprovider.kubelet.k8s.io/v2"; supported: credentialprovider.kubelet.k8s.io/v1, `},
		{`{"kind":"CredentialProviderRequest","image":"a"}`, `apiVersion is missing`},
		{`{"kind":"CredentialProviderRequest",` + v1 + `}`, "no image"},
		{`{"kind":"CredentialProviderRequest",` + v1 + `,"image":""}`, "no image"},
		{strings.Repeat(" ", MaxRequestSize) + "{}", "larger than 1 MiB"},
	} {
		_, err := ReadRequest(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			in := tc.in
			if len(in) > 100 {
				in = in[:100]
			}
			t.Errorf("ReadRequest(%q) error = %v; want %q", in, err, tc.want)
		}
	}
}

func TestReadRequestIsLenient(t *testing.T) {
	req, err := ReadRequest(strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/a","futureField":{"x":[1]}}` + "\n"))
	if err != nil || req.Image != "r.io/a" {
		t.Errorf("got %+v, %v", req, err)
	}
}

func TestServe(t *testing.T) {
	const token = "eyJhbGciOi.secret-token.sig"
	resolve := func(req *Request, image string) (provider.Answer, error) {
		if image != "docker.io/library/nginx" {
			t.Errorf("image = %q", image)
		}
		return provider.Answer{Image: image, Credentials: []provider.Credential{{Key: "docker.io", Username: "u", Password: "p"}}, CacheKeyType: provider.CacheKeyRegistry, CacheDuration: time.Minute}, nil
	}
	var out bytes.Buffer
	ans, o := Serve(strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"nginx:1.27","serviceAccountToken":"`+token+`"}`), &out, resolve)
	if o.Code != provider.ExitAnswered || o.Error != "" || ans == nil || len(ans.Credentials) != 1 {
		t.Fatalf("%+v %+v", ans, o)
	}
	want := `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","cacheKeyType":"Registry","cacheDuration":"1m0s","auth":{"docker.io":{"username":"u","password":"p"}}}` + "\n"
	if out.String() != want {
		t.Errorf("got  %s\nwant %s", out.String(), want)
	}

	// A bad image: a failure that names it, and nothing on stdout.
	out.Reset()
	ans, o = Serve(strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"Bad/Image Name"}`), &out, resolve)
	if o.Code != provider.ExitFailed || ans != nil || !strings.Contains(o.Error, `"Bad/Image Name" is not a valid image reference`) || out.Len() != 0 {
		t.Errorf("bad image: %+v, stdout %q", o, out.String())
	}

	// A miss while a source failed: the failure, on one line, nothing on stdout.
	out.Reset()
	failing := func(req *Request, image string) (provider.Answer, error) {
		return provider.Answer{Image: image, Steps: []provider.Step{
			{Source: "a", Err: errors.Join(errors.New("a: first\nproblem"), errors.New("a: second"))},
		}}, nil
	}
	ans, o = Serve(strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/x"}`), &out, failing)
	if o.Code != provider.ExitFailed || ans == nil || out.Len() != 0 {
		t.Fatalf("failing source: %+v, stdout %q", o, out.String())
	}
	if strings.Contains(o.Error, "\n") || !strings.Contains(o.Error, "no credentials for r.io/x, and a: first; problem; a: second") {
		t.Errorf("one line = %q", o.Error)
	}

	// The resolver's own error (a token that cannot be read) fails the run.
	out.Reset()
	ans, o = Serve(strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/x"}`), &out,
		func(*Request, string) (provider.Answer, error) { return provider.Answer{}, errors.New("bad\ntoken") })
	if o.Code != provider.ExitFailed || o.Error != "bad; token" || ans != nil || out.Len() != 0 {
		t.Errorf("resolver error: %+v %+v, stdout %q", ans, o, out.String())
	}

	// A stdout that cannot be written: a failure.
	_, o = Serve(strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"nginx"}`), failingWriter{}, resolve)
	if o.Code != provider.ExitFailed || !strings.Contains(o.Error, "writing the response to stdout: closed") {
		t.Errorf("unwritable stdout: %+v", o)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"docker.io/library/nginx"}` + "\n"))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"localhost:5443/lab/busybox","serviceAccountToken":"t","serviceAccountAnnotations":{"a":"b"}}`))
	f.Add([]byte(`{}{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ReadRequest(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if !Supported(req.APIVersion) || req.Image == "" {
			t.Fatalf("accepted %+v", req)
		}
		// Whatever we accept, we answer with bytes the kubelet accepts.
		out, err := EncodeResponse(req.APIVersion, &provider.Answer{Credentials: []provider.Credential{{Key: req.Image, Username: req.Image, Password: req.ServiceAccountToken}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := kubeletCodecs(t).UniversalDecoder().Decode(out, nil, nil); err != nil {
			t.Fatalf("kubelet rejects %s: %v", out, err)
		}
	})
}

// FuzzServe: a whole invocation. Whatever arrives on stdin, either nothing
// is written and the run fails with one line, or exactly one response the kubelet's
// strict decoder accepts, with the credential under the image's key.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"nginx:1.27"}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"[::1]:5000/a@sha256:` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/a","serviceAccountToken":"p"}`))
	codecs := kubeletCodecs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		_, o := Serve(bytes.NewReader(data), &out, func(req *Request, image string) (provider.Answer, error) {
			return provider.Answer{Image: image, Credentials: []provider.Credential{{Key: image, Username: "u", Password: "p"}}, CacheKeyType: provider.CacheKeyImage}, nil
		})
		if o.Failed() {
			if out.Len() != 0 || o.Error == "" || strings.Contains(o.Error, "\n") {
				t.Fatalf("failure %+v with output %q", o, out.String())
			}
			return
		}
		obj, _, derr := codecs.UniversalDecoder().Decode(out.Bytes(), nil, nil)
		if derr != nil {
			t.Fatalf("kubelet rejects %s: %v", out.String(), derr)
		}
		if resp := obj.(*credentialprovider.CredentialProviderResponse); len(resp.Auth) != 1 {
			t.Fatalf("auth = %v", resp.Auth)
		}
	})
}

// Keys go out spelled so that the kubelet reads them back as the key we
// matched: a path starting with /v2/ gains a /v1/ for the kubelet to strip,
// and two credentials under one key get two spellings.
func TestEncodeResponseSpellsKeys(t *testing.T) {
	a := &provider.Answer{CacheKeyType: provider.CacheKeyImage, Credentials: []provider.Credential{
		{Key: "quay.io/v2/team", Username: "t", Password: "1"},
		{Key: "quay.io", Username: "stale", Password: "2"},
		{Key: "quay.io", Username: "right", Password: "3"},
	}}
	data, err := EncodeResponse(APIVersions[0], a)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Auth map[string]struct{ Username string } `json:"auth"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range resp.Auth {
		got[k] = v.Username
	}
	want := map[string]string{"quay.io/v1/v2/team": "t", "quay.io": "stale", "https://quay.io": "right"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("auth keys %v, want %v", got, want)
	}
}
