//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	credentialprovider "k8s.io/kubelet/pkg/apis/credentialprovider"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"
)

// marker is the secret planted in every store of the hostile tests. It must
// never reach stderr, an error, or stdout outside the auth of an answer.
const marker = "hstl-Zq83-store-secret"

// hostileFixture holds one store of each kind, each holding marker, and
// fake credential helpers with hostile behaviours, all under one directory.
type hostileFixture struct {
	dir, bin, cacheDir string
	// getsAtDamage is the "ok" helper's count when a cache case damaged
	// the cache: the case's two runs must add exactly one.
	getsAtDamage int
	good         string // docker config with marker for r.io and [::1]:5000
	env          []string
}

// Helpers by behaviour. Each prints, on get, what its name says.
var hostileHelpers = map[string]string{
	"ok":        `printf '{"ServerURL":"r.io","Username":"helper-user","Secret":"` + marker + `"}'`,
	"garbage":   `printf 'Username=helper-user Secret=` + marker + `'`,
	"array":     `printf '["helper-user","` + marker + `"]'`,
	"wrongtype": `printf '{"Username":"helper-user","Secret":["` + marker + `"]}'`,
	"mega":      `i=0; while [ $i -lt 48 ]; do head -c 65536 /dev/zero | tr '\0' 'x'; i=$((i+1)); done; printf '` + marker + `'`,
	"nonutf8":   `printf '{"Username":"helper-user","Secret":"` + marker + `\377\376"}'`,
	"errmsg":    `echo "cannot unlock keyring for helper-user with passphrase ` + marker + `"; exit 1`,
	"crashjson": `printf '{"ServerURL":"r.io","Username":"helper-user","Secret":"` + marker + `"}'; exit 1`,
	"trace":     `echo "panic: runtime error" >&2; echo "password=` + marker + `" >&2; echo "goroutine 1 [running]:" >&2; exit 2`,
	"token":     `printf '{"Username":"<token>","Secret":"` + marker + `"}'`,
	"empty":     `printf '{"Username":"","Secret":""}'`,
	"nothing":   `exit 0`,
	"killed":    `kill -9 $$`,
	"nul":       `printf '{"Username":"helper-user","Secret":"` + marker + `\000"}'`,
	"badlist":   `printf '{"ServerURL":"r.io","Username":"helper-user","Secret":"` + marker + `"}'`,
}

func newHostileFixture(t *testing.T) *hostileFixture {
	t.Helper()
	f := &hostileFixture{dir: t.TempDir()}
	f.bin = filepath.Join(f.dir, "bin")
	f.cacheDir = filepath.Join(f.dir, "cache")
	if err := os.Mkdir(f.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, get := range hostileHelpers {
		list := `echo '{"r.io":"helper-user"}'`
		if name == "badlist" {
			list = `echo 'list: ` + marker + `'; exit 1`
		}
		if name == "ok" {
			// Counted, for the cache cases: a damaged entry is fetched again.
			get = "echo get >> " + f.okCalls() + "; " + get
		}
		script := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in\n  get) read server; %s ;;\n  list) %s ;;\n  *) exit 1 ;;\nesac\n", get, list)
		writeFile(t, f.bin, "docker-credential-"+name, script, 0o755)
	}
	f.good = f.docker(t, "good.json", `{"auths":{"r.io":{"username":"store-user","password":"`+marker+`"},"[::1]:5000":{"auth":"`+b64("store-user:"+marker)+`"}}}`)
	f.env = []string{"PATH=" + f.bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	t.Cleanup(func() { dropCacheKeyring(t, f.cacheDir) })
	return f
}

// okCalls is the file the "ok" helper logs each get to.
func (f *hostileFixture) okCalls() string { return filepath.Join(f.dir, "ok-calls") }

// okGets is how many times the "ok" helper has been asked so far.
func (f *hostileFixture) okGets(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(f.okCalls())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "get\n")
}

func (f *hostileFixture) docker(t *testing.T, name, data string) string {
	return writeFile(t, f.dir, name, data, 0o600)
}

// config writes our configuration file with the given sources (YAML flow
// list items) and returns --config's argument.
func (f *hostileFixture) config(t *testing.T, name, sources string) []string {
	p := writeFile(t, f.dir, name, fmt.Sprintf(`apiVersion: config.node-credential-provider.io/v1alpha1
kind: NodeCredentialProviderConfig
cache: {dir: %s}
helpers: [{name: mega, timeout: 5s}]
sources: [%s]
`, f.cacheDir, sources), 0o600)
	return []string{"--config", p}
}

func (f *hostileFixture) helper(t *testing.T, name string) []string {
	return f.config(t, "helper-"+name+".yaml", "{credentialHelper: {helper: "+name+"}}")
}

func (f *hostileFixture) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	// Once: the node-local cache would carry the first run's answer into
	// the second.
	return runBinaryOnce(t, append([]string{"HOME=" + f.dir}, f.env...), stdin, args...)
}

// Expected outcomes of a hostile case.
type outcome int

const (
	answer outcome = iota // exit 0, marker in the auth
	empty                 // exit 0, no credentials
	fails                 // exit 1 with wantErr on stderr
	either                // empty or fails: both are correct
)

type hostileCase struct {
	name    string
	stdin   string                                         // default: a request for r.io/app
	args    func(t *testing.T, f *hostileFixture) []string // default: the good docker config
	want    outcome
	wantErr string // for fails: a substring of the one stderr line
	// before runs first, such as a request that fills the cache; after
	// runs last, for what the outcome alone does not show.
	before, after func(t *testing.T, f *hostileFixture, args []string)
}

func v1(image string) string { return request(image) }

func raw(body string) string {
	return `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1",` + body + `}`
}

func dockerArgs(data string) func(*testing.T, *hostileFixture) []string {
	return func(t *testing.T, f *hostileFixture) []string {
		return []string{"--docker-config", f.docker(t, "docker-"+t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]+".json", data)}
	}
}

func configArgs(data string) func(*testing.T, *hostileFixture) []string {
	return func(t *testing.T, f *hostileFixture) []string {
		return []string{"--config", writeFile(t, f.dir, "config.yaml", data, 0o600)}
	}
}

func podmanArgs(data string) func(*testing.T, *hostileFixture) []string {
	return func(t *testing.T, f *hostileFixture) []string {
		p := f.docker(t, "auth.json", data)
		return f.config(t, "podman.yaml", "{podmanAuth: {path: "+p+"}}")
	}
}

func helperArgs(name string) func(*testing.T, *hostileFixture) []string {
	return func(t *testing.T, f *hostileFixture) []string { return append(f.helper(t, name), "--no-cache") }
}

const cfgHead = "apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\n"

func hostileCases() []hostileCase {
	entry := `{"username":"store-user","password":"` + marker + `"}`
	many := new(strings.Builder)
	many.WriteString(`{"auths":{`)
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(many, `"reg-%d.example.com":{"auth":"%s"},`, i, b64(fmt.Sprintf("u%d:p%d", i, i)))
	}
	many.WriteString(`"r.io":` + entry + `}}`)
	bomb := cfgHead + "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i, prev := 'b', 'a'; i <= 'i'; i, prev = i+1, i {
		bomb += fmt.Sprintf("%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	return []hostileCase{
		// Requests, against the good docker config.
		{name: "request/control", want: answer},
		{name: "request/truncated", stdin: v1("r.io/app")[:60], want: fails, wantErr: "not valid JSON"},
		{name: "request/deeply nested", stdin: raw(`"image":"r.io/app","x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000)), want: fails, wantErr: "not valid JSON"},
		{name: "request/huge", stdin: raw(`"image":"r.io/app","x":"` + strings.Repeat("A", 2<<20) + `"`), want: fails, wantErr: "larger than 1 MiB"},
		{name: "request/huge image", stdin: v1("r.io/" + strings.Repeat("a", 900<<10)), want: fails, wantErr: "longer than 255 characters"},
		{name: "request/big unknown field", stdin: raw(`"image":"r.io/app","future":"` + strings.Repeat("A", 900<<10) + `"`), want: answer},
		{name: "request/NUL byte", stdin: raw(`"image":"r.io/app"` + "\x00"), want: fails, wantErr: "not valid JSON"},
		{name: "request/escaped NUL in image", stdin: raw(`"image":"r.io/app\u0000"`), want: fails, wantErr: "not a valid image reference"},
		{name: "request/invalid UTF-8", stdin: raw("\"image\":\"r.io/app\xff\xfe\""), want: fails, wantErr: "not a valid image reference"},
		{name: "request/BOM", stdin: "\xef\xbb\xbf" + v1("r.io/app"), want: fails, wantErr: "not valid JSON"},
		{name: "request/duplicate key", stdin: raw(`"image":"other.io/x","image":"r.io/app"`), want: answer},
		{name: "request/duplicate kind", stdin: `{"kind":"CredentialProviderRequest","kind":"Pod","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.io/app"}`, want: fails, wantErr: `kind is "Pod"`},
		{name: "request/image as number", stdin: raw(`"image":5`), want: fails, wantErr: `field "image" must be a string, not number`},
		{name: "request/apiVersion as number", stdin: `{"kind":"CredentialProviderRequest","apiVersion":1,"image":"r.io/app"}`, want: fails, wantErr: `field "apiVersion" must be a string`},
		{name: "request/number as string", stdin: raw(`"image":"12345"`), want: empty},
		{name: "request/array", stdin: "[" + v1("r.io/app") + "]", want: fails, wantErr: "must be an object, not array"},
		{name: "request/null", stdin: "null", want: fails, wantErr: "kind is missing"},
		{name: "request/trailing garbage", stdin: v1("r.io/app") + "}", want: fails, wantErr: "more than one JSON document"},
		{name: "request/scheme", stdin: v1("https://r.io/app"), want: fails, wantErr: "must not include a URL scheme"},
		{name: "request/uppercase host", stdin: v1("R.IO/app"), want: empty},
		{name: "request/uppercase path", stdin: v1("r.io/App"), want: fails, wantErr: "must be lower case"},
		{name: "request/300-char name", stdin: v1("r.io/" + strings.Repeat("a", 300)), want: fails, wantErr: "longer than 255 characters"},
		{name: "request/IPv6", stdin: v1("[::1]:5000/app"), want: answer},
		{name: "request/IPv6 without port", stdin: v1("[::1]/app"), want: either},
		{name: "request/unicode path", stdin: v1("r.io/ünïcode"), want: fails, wantErr: "non-ASCII character"},
		{name: "request/unicode host", stdin: v1("bücher.example/app"), want: fails, wantErr: "non-ASCII character"},
		{name: "request/newline in image", stdin: raw(`"image":"r.io/app\nx"`), want: fails, wantErr: "not a valid image reference"},
		{name: "request/tag and digest", stdin: v1("r.io/app:1@sha256:" + strings.Repeat("0", 64)), want: answer},
		{name: "request/v1alpha1", stdin: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"r.io/app"}`, want: answer},
		{name: "request/token not a JWT", stdin: raw(`"image":"r.io/app","serviceAccountToken":"` + marker + `"`), want: fails, wantErr: "not a JWT"},
		{name: "request/annotations as array", stdin: raw(`"image":"r.io/app","serviceAccountAnnotations":["a"]`), want: fails, wantErr: "must be an object"},

		// Our configuration file.
		{name: "config/alias bomb", args: configArgs(bomb), want: fails, wantErr: "not valid YAML"},
		{name: "config/tabs", args: configArgs(cfgHead + "sources:\n\t- dockerConfig: {}\n"), want: fails, wantErr: "not valid YAML"},
		{name: "config/unknown field", args: configArgs(cfgHead + "sources: [{dockerConfig: {}, bogus: 1}]\n"), want: fails, wantErr: `unknown field "sources[0].bogus"`},
		{name: "config/wrong type", args: configArgs(cfgHead + "sources: yes\n"), want: fails, wantErr: `field "sources" must be a list`},
		{name: "config/secret in wrong-typed env", args: configArgs(cfgHead + "helpers: [{name: x, env: {TOKEN: [" + marker + "]}}]\n"), want: fails, wantErr: "helpers"},
		{name: "config/gigantic value", args: configArgs(cfgHead + "cacheDuration: " + strings.Repeat("9", 900<<10) + "s\n"), want: fails, wantErr: "cacheDuration"},
		{name: "config/over 1 MiB", args: configArgs(cfgHead + "# " + strings.Repeat("x", 1<<20) + "\n"), want: fails, wantErr: "larger than 1 MiB"},
		{name: "config/empty", args: configArgs(""), want: fails, wantErr: "apiVersion/kind"},
		{name: "config/NUL", args: configArgs(cfgHead + "sources: [\x00]\n"), want: fails, wantErr: "not valid YAML"},
		{name: "config/invalid UTF-8", args: configArgs(cfgHead + "cacheDuration: \"\xff\"\n"), want: fails, wantErr: "not valid YAML"},
		{name: "config/deeply nested", args: configArgs(cfgHead + "x: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n"), want: fails},
		{name: "config/duplicate JSON field", args: configArgs(`{"apiVersion":"config.node-credential-provider.io/v1alpha1","kind":"NodeCredentialProviderConfig","cacheDuration":"1m","cacheDuration":"2m"}`), want: fails, wantErr: "duplicate field"},
		{name: "config/directory", args: func(t *testing.T, f *hostileFixture) []string { return []string{"--config", f.dir} }, want: fails, wantErr: "not a regular file"},
		{name: "config/FIFO", args: func(t *testing.T, f *hostileFixture) []string {
			p := filepath.Join(f.dir, "config.fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"--config", p}
		}, want: fails, wantErr: "not a regular file (a named pipe)"},
		{name: "config/dev zero", args: func(*testing.T, *hostileFixture) []string { return []string{"--config", "/dev/zero"} }, want: fails, wantErr: "not a regular file"},
		{name: "config/symlink loop", args: func(t *testing.T, f *hostileFixture) []string {
			p := filepath.Join(f.dir, "loop.yaml")
			if err := os.Symlink(p, p); err != nil {
				t.Fatal(err)
			}
			return []string{"--config", p}
		}, want: fails, wantErr: "too many levels of symbolic links"},
		{name: "config/BOM", args: func(t *testing.T, f *hostileFixture) []string {
			return configArgs("\xef\xbb\xbf"+cfgHead+"sources: [{dockerConfig: {paths: ["+f.good+"]}}]\n")(t, f)
		}, want: answer},
		{name: "config/valid", args: func(t *testing.T, f *hostileFixture) []string {
			return f.config(t, "valid.yaml", "{dockerConfig: {paths: ["+f.good+"]}}")
		}, want: answer},

		// Docker configs.
		{name: "docker/non-object entry", args: dockerArgs(`{"auths":{"r.io":"` + marker + `"}}`), want: fails, wantErr: `entry "r.io": must be an object, not string`},
		{name: "docker/array entry", args: dockerArgs(`{"auths":{"r.io":["` + marker + `"]}}`), want: fails, wantErr: `entry "r.io"`},
		{name: "docker/auths is a string", args: dockerArgs(`{"auths":"` + marker + `"}`), want: fails, wantErr: `"auths" must be an object`},
		{name: "docker/top-level array", args: dockerArgs(`["` + marker + `"]`), want: fails, wantErr: "must be an object, not array"},
		{name: "docker/10k entries", args: dockerArgs(many.String()), want: answer},
		{name: "docker/invalid base64", args: dockerArgs(`{"auths":{"r.io":{"auth":"` + marker + `!!"}}}`), want: fails, wantErr: `"auth" is not valid base64`},
		{name: "docker/auth without colon", args: dockerArgs(`{"auths":{"r.io":{"auth":"` + b64(marker) + `"}}}`), want: fails, wantErr: `must be base64 of "username:password"`},
		{name: "docker/key with spaces", args: dockerArgs(`{"auths":{"r.io /app":` + entry + `}}`), want: fails, wantErr: `entry "r.io /app"`},
		{name: "docker/key with CRLF", args: dockerArgs(`{"auths":{"r.io\r\n":` + entry + `}}`), want: fails, wantErr: `entry "r.io\r\n"`},
		{name: "docker/broken entry beside a good one", args: dockerArgs(`{"auths":{"r.io\r\n":{"auth":"!!"},"r.io":` + entry + `}}`), want: answer},
		{name: "docker/wrong-typed username", args: dockerArgs(`{"auths":{"r.io":{"username":5,"password":"` + marker + `"}}}`), want: fails, wantErr: `field "username" must be a string`},
		{name: "docker/auths null", args: dockerArgs(`{"auths":null}`), want: empty},
		{name: "docker/credsStore number", args: dockerArgs(`{"credsStore":5}`), want: fails, wantErr: `"credsStore" must be a string`},
		{name: "docker/credHelpers path", args: dockerArgs(`{"credHelpers":{"r.io":"../../../bin/sh"}}`), want: fails, wantErr: "path separator"},
		{name: "docker/BOM", args: dockerArgs("\xef\xbb\xbf" + `{"auths":{"r.io":` + entry + `}}`), want: fails, wantErr: "not valid JSON"},
		{name: "docker/NUL in password", args: dockerArgs(`{"auths":{"r.io":{"username":"u","password":"` + marker + `\u0000"}}}`), want: answer},
		{name: "docker/invalid UTF-8 in password", args: dockerArgs("{\"auths\":{\"r.io\":{\"username\":\"u\",\"password\":\"" + marker + "\xff\"}}}"), want: answer},
		{name: "docker/over 4 MiB", args: dockerArgs(`{"auths":{"r.io":` + entry + `},"x":"` + strings.Repeat("A", 4<<20) + `"}`), want: fails, wantErr: "larger than 4 MiB"},
		{name: "docker/deeply nested", args: dockerArgs(`{"auths":{"r.io":` + entry + `},"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`), want: fails, wantErr: "not valid JSON"},
		{name: "docker/duplicate key", args: dockerArgs(`{"auths":{"r.io":{"username":"u","password":"first"},"r.io":` + entry + `}}`), want: answer},
		{name: "docker/same key spelled twice", args: dockerArgs(`{"auths":{"https://r.io/v1/":` + entry + `,"r.io":` + entry + `}}`), want: answer},
		{name: "docker/directory", args: func(t *testing.T, f *hostileFixture) []string { return []string{"--docker-config", f.dir} }, want: fails, wantErr: "not a regular file (a directory)"},
		{name: "docker/FIFO", args: func(t *testing.T, f *hostileFixture) []string {
			p := filepath.Join(f.dir, "docker.fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"--docker-config", p}
		}, want: fails, wantErr: "not a regular file (a named pipe)"},
		{name: "docker/FIFO before a good file", args: func(t *testing.T, f *hostileFixture) []string {
			p := filepath.Join(f.dir, "docker2.fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"--docker-config", p, "--docker-config", f.good}
		}, want: answer},

		// containers auth.json.
		{name: "podman/scope deeper than the image", stdin: v1("r.io/team/app"), args: podmanArgs(`{"auths":{"r.io/team/app/sub":` + entry + `}}`), want: empty},
		{name: "podman/scope of the image", stdin: v1("r.io/team/app"), args: podmanArgs(`{"auths":{"r.io/team/app":` + entry + `}}`), want: answer},
		{name: "podman/legacy key with path", stdin: v1("r.io/team/app"), args: podmanArgs(`{"auths":{"https://r.io/team":` + entry + `}}`), want: answer},
		{name: "podman/not JSON", args: podmanArgs(`auths: ` + marker), want: fails, wantErr: "not valid JSON"},
		{name: "podman/credHelpers wrong type", args: podmanArgs(`{"credHelpers":["` + marker + `"],"auths":{"r.io":` + entry + `}}`), want: answer},
		{name: "podman/empty most specific key", stdin: v1("r.io/team/app"), args: podmanArgs(`{"auths":{"r.io/team":{},"r.io":` + entry + `}}`), want: empty},

		// Credential helper output.
		{name: "helper/control", args: helperArgs("ok"), want: answer},
		{name: "helper/garbage", args: helperArgs("garbage"), want: fails, wantErr: "output is not what the helper protocol expects"},
		{name: "helper/JSON array", args: helperArgs("array"), want: fails, wantErr: "must be an object, not array"},
		{name: "helper/wrong type", args: helperArgs("wrongtype"), want: fails, wantErr: `field "Secret" must be a string`},
		{name: "helper/megabytes", args: helperArgs("mega"), want: fails, wantErr: "printed more than 1024 KiB"},
		{name: "helper/non-UTF-8", args: helperArgs("nonutf8"), want: answer},
		{name: "helper/NUL in secret", args: helperArgs("nul"), want: either},
		{name: "helper/secret in its error message", args: helperArgs("errmsg"), want: fails, wantErr: "exit status 1"},
		{name: "helper/credential then exit 1", args: helperArgs("crashjson"), want: fails, wantErr: "exit status 1"},
		{name: "helper/stack trace on stderr", args: helperArgs("trace"), want: fails, wantErr: "exit status 2"},
		{name: "helper/token username", args: helperArgs("token"), want: empty},
		{name: "helper/empty username and secret", args: helperArgs("empty"), want: empty},
		{name: "helper/prints nothing", args: helperArgs("nothing"), want: fails, wantErr: "output is not what the helper protocol expects"},
		{name: "helper/killed", args: helperArgs("killed"), want: fails, wantErr: "signal: killed"},
		{name: "helper/list fails, get answers", args: helperArgs("badlist"), want: answer},
		{name: "helper/credsStore garbage", args: dockerArgs(`{"auths":{"r.io":{}},"credsStore":"garbage"}`), want: fails, wantErr: "docker-credential-garbage"},

		// Cache entries damaged in the kernel keyring between two requests.
		{name: "cache/value corrupted", args: cachedHelper, before: corruptCache(corruptData), want: answer, after: refetchedOnce},
		{name: "cache/garbage payload", args: cachedHelper, before: corruptCache(func([]byte) []byte { return []byte(marker) }), want: answer, after: refetchedOnce},
		{name: "cache/truncated", args: cachedHelper, before: corruptCache(func(b []byte) []byte { return b[:len(b)/2] }), want: answer, after: refetchedOnce},
		// Entries are sealed: a date cannot be changed from outside, only
		// the sealed bytes (here the nonce), and then nothing opens. A clock
		// gone back is cache's TestDo.
		{name: "cache/sealed bytes changed", args: cachedHelper, before: corruptCache(func(b []byte) []byte {
			c := append([]byte(nil), b...)
			c[6]++
			return c
		}), want: answer, after: refetchedOnce},
	}
}

// cachedHelper asks the "ok" helper through the node-local cache.
func cachedHelper(t *testing.T, f *hostileFixture) []string {
	return f.config(t, "cached.yaml", "{credentialHelper: {helper: ok}}")
}

// refetchedOnce checks that the damaged entry was not used: the first run
// after the damage asked the helper, and stored a good entry again, which
// the second run used.
func refetchedOnce(t *testing.T, f *hostileFixture, _ []string) {
	if got := f.okGets(t) - f.getsAtDamage; got != 1 {
		t.Errorf("the helper was asked %d times in the two runs after the damage, want 1 (once to replace the entry, then the cache)", got)
	}
}

// corruptData flips bytes inside the stored value while keeping the header,
// key and fingerprint: the entry still looks like ours.
func corruptData(b []byte) []byte {
	c := append([]byte(nil), b...)
	for i := len(c) - 8; i < len(c); i++ {
		c[i] ^= 0x5a
	}
	return c
}

// corruptCache runs one request to fill the cache, then rewrites every
// entry of the cache's keyring with damage applied, as another root
// process could.
func corruptCache(damage func([]byte) []byte) func(*testing.T, *hostileFixture, []string) {
	return func(t *testing.T, f *hostileFixture, args []string) {
		if _, err := exec.LookPath("keyctl"); err != nil {
			// scripts/install-test-deps.sh installs it (make unit).
			t.Fatal("keyctl (Debian package keyutils) is needed to reach cache entries")
		}
		if r := f.run(t, v1("r.io/app"), args...); r.code != 0 || !strings.Contains(r.stdout, marker) {
			t.Fatalf("filling the cache: %+v", r)
		}
		f.getsAtDamage = f.okGets(t)
		ring, err := exec.Command("keyctl", "search", "@u", "keyring", "node-credential-provider:sealed:"+f.cacheDir).Output()
		if err != nil {
			// The request above filled the cache: its keyring must be there.
			t.Fatalf("no cache keyring after a cached request: %v", err)
		}
		ids, err := exec.Command("keyctl", "rlist", strings.TrimSpace(string(ring))).Output()
		if err != nil || len(strings.Fields(string(ids))) == 0 {
			t.Fatalf("listing the cache keyring: %v %q", err, ids)
		}
		for _, id := range strings.Fields(string(ids)) {
			payload, err := exec.Command("keyctl", "pipe", id).Output()
			if err != nil {
				t.Fatal(err)
			}
			// keyctl update rewrites the payload in place, keeping the key's
			// description, permissions and timeout.
			cmd := exec.Command("keyctl", "pupdate", id)
			cmd.Stdin = bytes.NewReader(damage(payload))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("keyctl pupdate: %v %s", err, out)
			}
		}
	}
}

// TestHostileInputs: every hostile input gets a clear error or a correct
// answer, never a panic, and the stores' secret never leaks.
func TestHostileInputs(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake helpers")
	}
	f := newHostileFixture(t)
	codecs := serializer.NewCodecFactory(kubeletScheme(), serializer.EnableStrict)
	cases := hostileCases()
	if len(cases) < 60 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdin := tc.stdin
			if stdin == "" {
				stdin = v1("r.io/app")
			}
			args := []string{"--docker-config", f.good}
			if tc.args != nil {
				args = tc.args(t, f)
			}
			if tc.before != nil {
				tc.before(t, f, args)
			}
			// Once as the kubelet runs us, once logging everything: the
			// same outcome, and no secret even at -v=10.
			r := f.run(t, stdin, args...)
			checkHostile(t, codecs, tc, r, false)
			r10 := f.run(t, stdin, append(args, "-v=10")...)
			if r10.code != r.code {
				t.Errorf("exit %d at -v=10, %d without", r10.code, r.code)
			}
			checkHostile(t, codecs, tc, r10, true)
			if tc.after != nil {
				tc.after(t, f, args)
			}
		})
	}
}

func kubeletScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}

func checkHostile(t *testing.T, codecs serializer.CodecFactory, tc hostileCase, r result, verbose bool) {
	t.Helper()
	short := func(s string) string {
		if len(s) > 400 {
			return s[:400] + "..."
		}
		return s
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("panic (exit %d): %s", r.code, short(r.stderr))
	}
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d, want 0 or 1; stderr %s", r.code, short(r.stderr))
	}
	if strings.Contains(r.stderr, marker) {
		t.Errorf("the secret is on stderr: %s", short(r.stderr))
	}
	if r.code == 1 {
		if r.stdout != "" {
			t.Errorf("exit 1 with stdout %s", short(r.stdout))
		}
		// The error is the last line; before it, only log lines at -v.
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if !strings.HasSuffix(r.stderr, "\n") || !strings.HasPrefix(last, name+": ") || len(lines) > 1 && !verbose {
			t.Errorf("exit 1 wants one error line on stderr, got %s", short(r.stderr))
		}
		for _, l := range lines[:len(lines)-1] {
			if !klogLine.MatchString(l) {
				t.Errorf("stderr line is neither a log line nor the error: %s", short(l))
			}
		}
		if len(last) > 4096 {
			t.Errorf("a %d-byte error line", len(last))
		}
		if tc.want == answer || tc.want == empty {
			t.Fatalf("failed, want an answer: %s", short(r.stderr))
		}
		if tc.wantErr != "" && !strings.Contains(last, tc.wantErr) {
			t.Errorf("stderr %s; want it to contain %q", short(r.stderr), tc.wantErr)
		}
		return
	}
	if tc.want == fails {
		t.Fatalf("answered, want an error containing %q: stdout %s", tc.wantErr, short(r.stdout))
	}
	if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("stdout is not one line: %s", short(r.stdout))
	}
	obj, _, err := codecs.UniversalDecoder().Decode([]byte(r.stdout), nil, nil)
	if err != nil {
		t.Fatalf("the kubelet rejects %s: %v", short(r.stdout), err)
	}
	resp := obj.(*credentialprovider.CredentialProviderResponse)
	var inAuth bool
	for _, a := range resp.Auth {
		inAuth = inAuth || strings.Contains(a.Password, marker)
		if strings.Contains(a.Username, marker) {
			t.Errorf("the secret is in a username")
		}
	}
	// Outside the auth, stdout holds no secret: the auth's passwords are the
	// only place it may appear.
	var generic map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &generic); err != nil {
		t.Fatal(err)
	}
	delete(generic, "auth")
	if rest, _ := json.Marshal(generic); bytes.Contains(rest, []byte(marker)) {
		t.Errorf("the secret is on stdout outside the auth: %s", short(r.stdout))
	}
	switch tc.want {
	case answer:
		if !inAuth {
			t.Errorf("no credential in the answer: %s", short(r.stdout))
		}
	case empty, either:
		if len(resp.Auth) != 0 {
			t.Errorf("want no credentials, got %s", short(r.stdout))
		}
		if resp.CacheDuration == nil || resp.CacheDuration.Duration != 0 {
			t.Errorf("an empty answer must not be cached by the kubelet: %s", short(r.stdout))
		}
	}
}
