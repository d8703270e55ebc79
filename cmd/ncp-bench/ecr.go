package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// The peer: the kubelet credential provider for Amazon ECR, from the
// module k8s.io/cloud-provider-aws, at the release that goes with the
// Kubernetes version the rest of the repository uses.
const (
	ecrModule  = "k8s.io/cloud-provider-aws"
	ecrVersion = "v1.37.1"
	ecrPackage = "./cmd/ecr-credential-provider"

	ecrRegistry = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
	ecrKeyID    = "AKIDNCPBENCH"
	ecrPassword = "bench-ecr-password"
	ecrTarget   = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
)

// buildECR returns the path of ecr-credential-provider, built once into
// the user's cache directory. Its module's go.mod has replace directives,
// so `go install module/cmd@version` refuses it; it is built inside a
// copy of the module from the module cache instead, with -mod=mod so that
// the Go module proxy supplies its dependencies. Nothing of it lands in
// this repository.
func buildECR(work string) (string, error) {
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		cacheDir = work
	}
	out := filepath.Join(cacheDir, "node-credential-provider-bench", "ecr-credential-provider-"+ecrVersion)
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out, nil
	}
	dl, err := exec.Command("go", "mod", "download", "-json", ecrModule+"@"+ecrVersion).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v", ecrModule, ecrVersion, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(dl, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s", ecrModule, ecrVersion, err, mod.Error)
	}
	src := filepath.Join(work, "cloud-provider-aws")
	// A writable copy: the module cache's is read-only, and -mod=mod writes
	// go.sum.
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ecrPackage)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s@%s/%s: %v\n%s", ecrModule, ecrVersion, ecrPackage, err, b)
	}
	return out, os.Rename(tmp, out)
}

// fakeECR is the part of the ECR API the peer calls: GetAuthorizationToken,
// JSON 1.1 protocol, answered with a token for AWS:ecrPassword. It checks
// that the call was signed with the static key the peer was given, so a
// row cannot pass on a call that went anywhere else.
type fakeECR struct {
	url   string
	calls atomic.Int64
	bad   atomic.Int64
	srv   *http.Server
}

func startFakeECR() (*fakeECR, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeECR{url: "http://" + ln.Addr().String()}
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + ecrPassword))
	f.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != ecrTarget ||
			!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+ecrKeyID+"/") {
			f.bad.Add(1)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"InvalidParameterException","message":"ncp-bench fake ECR: unexpected request"}`)
			return
		}
		f.calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://%s"}]}`,
			token, time.Now().Add(12*time.Hour).Unix(), ecrRegistry)
	})}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *fakeECR) close() {
	if f != nil {
		f.srv.Close()
	}
}

// ecrScenario runs the peer as the kubelet would, kept on loopback:
// AWS_ENDPOINT_URL_ECR names the fake API, static keys and a region mean
// no credential or region lookup, AWS_EC2_METADATA_DISABLED keeps it off
// the instance-metadata service, and empty shared config files and proxy
// settings keep the host's own from changing what is measured.
func ecrScenario(work string) (*scenario, *fakeECR, string, error) {
	bin, err := buildECR(work)
	if err != nil {
		return nil, nil, "", err
	}
	f, err := startFakeECR()
	if err != nil {
		return nil, nil, "", err
	}
	home := filepath.Join(work, "ecr-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, nil, "", err
	}
	s := &scenario{
		name: "peer: ecr-credential-provider " + ecrVersion + " (fake ECR API on 127.0.0.1)",
		bin:  bin,
		env: []string{
			"HOME=" + home,
			"AWS_ENDPOINT_URL_ECR=" + f.url,
			"AWS_ACCESS_KEY_ID=" + ecrKeyID,
			"AWS_SECRET_ACCESS_KEY=ncp-bench-not-a-secret",
			"AWS_REGION=us-west-2",
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
			"AWS_PROFILE=", "AWS_SESSION_TOKEN=", "AWS_ECR_ROLE_ARN=",
			"HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=", "NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1",
		},
		stdin:  helperRequest(ecrRegistry + "/app"),
		expect: fmt.Sprintf(`%q:{"username":"AWS","password":%q}`, ecrRegistry, ecrPassword),
	}
	return s, f, bin, nil
}
