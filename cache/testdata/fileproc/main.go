// Command fileproc answers one kubelet-style request from a small docker
// config file: the baseline TestProcessCost compares a cache hit with.
// Usage: fileproc CONFIG < request
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	io.Copy(io.Discard, os.Stdin)
	b, err := os.ReadFile(os.Args[1])
	var cfg struct {
		Auths map[string]struct{ Auth string }
	}
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	up, _ := base64.StdEncoding.DecodeString(cfg.Auths["localhost:5443"].Auth)
	u, p, _ := strings.Cut(string(up), ":")
	fmt.Printf(`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"1m0s","auth":{"localhost:5443":{"username":%q,"password":%q}}}`+"\n", u, p)
}
