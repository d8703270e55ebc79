// Command hitproc answers one kubelet-style request from the credential
// cache, as a plugin would on a hit. TestProcessCost times it against
// fileproc. Usage: hitproc CACHE_DIR < request
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/node-credential-provider/node-credential-provider/cache"
)

func main() {
	io.Copy(io.Discard, os.Stdin)
	c, err := cache.Open(cache.Options{Dir: os.Args[1]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hit := true
	v, ttl, err := c.Do("helper:pass|get|localhost:5443", "fp", func() ([]byte, time.Duration, error) {
		hit = false
		return []byte(`{"username":"u","password":"p"}`), time.Hour, nil
	})
	var cred struct{ Username, Password string }
	if err == nil {
		err = json.Unmarshal(v, &cred)
	}
	if err != nil || c.Warning() != nil {
		fmt.Fprintln(os.Stderr, err, c.Warning())
		os.Exit(1)
	}
	if !hit && len(os.Args) > 2 && os.Args[2] == "-want-hit" {
		fmt.Fprintln(os.Stderr, "miss")
		os.Exit(1)
	}
	fmt.Printf(`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":%q,"auth":{"localhost:5443":{"username":%q,"password":%q}}}`+"\n",
		ttl.Truncate(time.Second).String(), cred.Username, cred.Password)
}
