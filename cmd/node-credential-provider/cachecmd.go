package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/node-credential-provider/node-credential-provider/cache"
	"github.com/node-credential-provider/node-credential-provider/provider"
)

const cacheUsage = `Usage:
  node-credential-provider cache list  [--config FILE | --cache-dir DIR] [-o text|json]
  node-credential-provider cache purge [--config FILE | --cache-dir DIR] (--all | --match TEXT)

The node-local cache of credential-helper answers: list shows each entry's key
(source and registry), age, expiry and size, never a value; purge removes
entries, so the next request asks the helper again.

Flags:
`

func runCache(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "purge") {
		fmt.Fprint(stderr, cacheUsage)
		return exitUsage
	}
	verb := args[0]
	fs := newFlagSet("cache "+verb, stderr)
	var so sourceOptions
	so.register(fs)
	output := fs.StringP("output", "o", "text", "text or json (list)")
	all := fs.Bool("all", false, "purge every entry")
	contains := fs.String("match", "", "purge the entries whose key contains TEXT (a helper name, a registry)")
	if code, done := parseArgs(fs, name+" cache "+verb, cacheUsage, args[1:], stdout, stderr); done {
		return code
	}
	if fs.NArg() != 0 || (verb == "purge" && *all == (*contains != "")) || (*output != "text" && *output != "json") {
		fs.Usage()
		return exitUsage
	}
	cfg, err := so.load(fs)
	if err != nil {
		fmt.Fprintf(stderr, "cache: %s\n", provider.OneLine(err))
		return exitError
	}
	c, err := cache.Open(cache.Options{Dir: cfg.Cache.Dir})
	if err != nil {
		fmt.Fprintf(stderr, "cache: %v\n", err)
		return exitError
	}
	if w := c.Warning(); w != nil {
		fmt.Fprintf(stderr, "cache: %s: %v\n", cfg.Cache.Dir, w)
		return exitError
	}
	if verb == "purge" {
		n, err := c.Purge(func(key string) bool { return *all || strings.Contains(key, *contains) })
		if err == nil && *all {
			// Nothing left: drop the keyring too, not just its entries.
			err = c.Destroy()
		}
		fmt.Fprintf(stdout, "purged %d entries from %s\n", n, cfg.Cache.Dir)
		if err != nil {
			fmt.Fprintf(stderr, "cache: %v\n", err)
			return exitError
		}
		return exitOK
	}
	entries, err := c.List()
	if err != nil {
		fmt.Fprintf(stderr, "cache: %v\n", err)
		return exitError
	}
	if *output == "json" {
		if entries == nil {
			entries = []cache.EntryInfo{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(entries)
		return exitOK
	}
	now := time.Now()
	fmt.Fprintf(stdout, "%d entries in %s (values are kept in the kernel keyring, never shown)\n", len(entries), cfg.Cache.Dir)
	for _, e := range entries {
		kind := fmt.Sprintf("%d bytes", e.Size)
		if e.Negative {
			kind = "failed or empty lookup"
		}
		fmt.Fprintf(stdout, "  %-60s age %-8s expires in %-8s %s\n", e.Key, now.Sub(e.Created).Round(time.Second), e.Expires.Sub(now).Round(time.Second), kind)
	}
	return exitOK
}
