// Command ncp-bench measures node-credential-provider the way the kubelet
// runs it: one process per request, started with os/exec, the request on
// stdin. It builds our binary and a floor binary (a static Go program that
// reads stdin and prints a fixed response) in the same run, times them
// interleaved, and prints a table of medians and ratios to the floor
// measured pair by pair, so machine noise and slow process start cancel out.
//
// It is a benchmark, not a test: it prints numbers and says which targets
// were met; `make bench` runs it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/node-credential-provider/node-credential-provider/config"
)

const request = `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"localhost:5443/lab/busybox"}` + "\n"

const floorSource = `package main

import (
	"io"
	"os"
)

func main() {
	io.ReadAll(os.Stdin)
	os.Stdout.WriteString(` + "`" + `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"1m0s","auth":{"localhost:5443":{"username":"u","password":"p"}}}` + "`" + ` + "\n")
}
`

// scenario is one kind of process to time.
type scenario struct {
	name   string
	bin    string
	args   []string
	env    []string
	stdin  string
	expect string // a substring of stdout that proves the answer is right
	target float64
	// results
	wall, cpu []time.Duration
	ratio     []float64
	maxRSS    int64 // KiB
}

func main() {
	runs := flag.Int("runs", 300, "interleaved runs per scenario")
	initRuns := flag.Int("init-runs", 60, "runs under GODEBUG=inittrace=1 for the per-package init table")
	ldflags := flag.String("ldflags", "-s -w", "linker flags for our binary (make bench passes the Makefile's)")
	goexp := flag.String("goexperiment", "", "GOEXPERIMENT for building our binary, not the floor or the peer (make bench passes the Makefile's)")
	base := flag.String("base", "", "also time the docker-config answer of our binary built at this git revision (make bench BENCHBASE=main)")
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	work, err := os.MkdirTemp("", "ncp-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)
	onFail = append(onFail, func() { os.RemoveAll(work) })

	floor := filepath.Join(work, "floor")
	if err := buildFloor(work, floor, floorSource); err != nil {
		fail(err)
	}
	spacer := filepath.Join(work, "spacer")
	if err := buildFloor(work, spacer, strings.Replace(floorSource, "CredentialProviderResponse", "Spacer", 1)); err != nil {
		fail(err)
	}
	spacerRow := &scenario{name: "spacer", bin: spacer, stdin: request, expect: "Spacer"}
	ours := filepath.Join(work, "node-credential-provider")
	oursExp = *goexp
	if err := buildOurs(root, ours, *ldflags); err != nil {
		fail(err)
	}
	dockerConfig := filepath.Join(work, "config.json")
	if err := os.WriteFile(dockerConfig, []byte(`{"auths":{"localhost:5443":{"username":"u","password":"p"},"https://index.docker.io/v1/":{"auth":"dTpw"},"quay.io/team-a":{"username":"a","password":"b"}}}`), 0o600); err != nil {
		fail(err)
	}
	floorRow := &scenario{name: "floor (hello-world Go binary)", bin: floor, stdin: request, expect: `"localhost:5443"`}
	fromFile := &scenario{name: "ours: answer from a docker config file", bin: ours, args: []string{"--docker-config", dockerConfig}, env: pluginEnv, stdin: request, expect: `"localhost:5443":{"username":"u"`, target: 1.25}
	noEnv := &scenario{name: "ours: the same, without the provider's env (GOMAXPROCS unset)", bin: ours, args: fromFile.args, stdin: request, expect: fromFile.expect}
	scenarios := []*scenario{floorRow, fromFile, noEnv}
	if *base != "" {
		bin, err := buildAt(root, work, *base, *ldflags)
		if err != nil {
			fail(err)
		}
		scenarios = append(scenarios, &scenario{name: "ours at " + *base + ": answer from a docker config file", bin: bin, args: fromFile.args, env: pluginEnv, stdin: request, expect: fromFile.expect})
	}
	scenarios = append(scenarios, extraScenarios(root, work, ours)...)
	imports, err := buildFloorImports(root, work)
	if err != nil {
		fail(err)
	}
	scenarios = append(scenarios, imports...)
	peer, ecr, peerBin, peerErr := ecrScenario(work)
	defer ecr.close()
	if peerErr == nil {
		scenarios = append(scenarios, peer)
	}

	load0 := loadAvg()
	for i := 0; i < *runs; i++ {
		for _, s := range scenarios[1:] {
			// Each row is paired with a floor run just before it, and
			// both run right after the same small spacer binary: a
			// process runs slower after another binary than after
			// itself, and slower still after a big one (its pages and
			// the CPU caches are cold), by up to 0.15x of the floor
			// here. Without the spacer, the floor of the first row ran
			// after the peer's 17 MiB and flattered that row by 0.1x.
			timeCheck(spacerRow)
			floorWall := timeCheck(floorRow)
			timeCheck(spacerRow)
			s.ratio = append(s.ratio, float64(timeCheck(s))/float64(floorWall))
		}
	}
	load1 := loadAvg()
	// Peak RSS from os/exec's rusage is wrong for short processes: Go starts
	// children with vfork, so the child's high-water mark includes the
	// parent's pages until exec. GNU time forks plainly.
	for _, s := range scenarios {
		s.maxRSS = peakRSS(s)
	}

	fmt.Printf("node-credential-provider benchmark: %d interleaved runs per scenario, %s, load average %s at the start and %s at the end (%d CPUs)\n\n",
		*runs, time.Now().UTC().Format(time.RFC3339), load0, load1, runtime.NumCPU())
	fmt.Println("| scenario | wall median | ratio to floor (median of pairs) | ratio p25-p75 | ratio of p10 walls | user+sys median | user+sys to floor | peak RSS | target | met |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	missed := 0
	floorRow.ratio = []float64{1}
	for _, s := range scenarios {
		r := median(s.ratio)
		target, met := "", ""
		if s.target > 0 {
			target = fmt.Sprintf("<= %.2fx", s.target)
			met = "yes"
			if r > s.target {
				missed++
				if p25 := quantile(s.ratio, 0.25); p25 <= s.target {
					met = fmt.Sprintf("no, by %.0f%% (p25 within)", (r/s.target-1)*100)
				} else {
					met = fmt.Sprintf("NO, by %.0f%%", (r/s.target-1)*100)
				}
			}
		}
		rss := "n/a (no /usr/bin/time)"
		if s.maxRSS > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(s.maxRSS)/1024)
		}
		fmt.Printf("| %s | %s | %.2fx | %.2f-%.2f | %.2fx | %s | %.2fx | %s | %s | %s |\n", s.name, ms(medianD(s.wall)), r,
			quantile(s.ratio, 0.25), quantile(s.ratio, 0.75), float64(quantileD(s.wall, 0.1))/float64(quantileD(floorRow.wall, 0.1)),
			ms(medianD(s.cpu)), float64(medianD(s.cpu))/float64(medianD(floorRow.cpu)), rss, target, met)
	}
	if peerErr != nil {
		fmt.Printf("\npeer row missing: %v\n", peerErr)
	} else {
		fmt.Printf("\npeer: the fake ECR API answered %d GetAuthorizationToken calls (every run asks it; %d unexpected requests)\n", ecr.calls.Load(), ecr.bad.Load())
	}
	fmt.Printf("noise: the floor's own wall time ran from %s (p25) to %s (p75); a ratio is the median of %d same-iteration pairs; the ratio of p10 walls compares the quietest tenth of each row's runs, which others' work on the machine disturbs least\n",
		ms(quantileD(floorRow.wall, 0.25)), ms(quantileD(floorRow.wall, 0.75)), *runs)
	rssTarget := int64(16 * 1024)
	for _, s := range scenarios[1:] {
		if s.maxRSS > rssTarget && strings.HasPrefix(s.name, "ours") {
			fmt.Printf("\npeak RSS target (< 16 MiB) missed by %s: %.1f MiB\n", s.name, float64(s.maxRSS)/1024)
			missed++
		}
	}
	fi, err := os.Stat(ours)
	if err != nil {
		fail(err)
	}
	sizeMet := "yes"
	if fi.Size() >= 12e6 {
		sizeMet = "NO"
		missed++
	}
	fmt.Printf("\nbinaries: ours %.1f MB stripped, static (target < 12 MB: %s); floor %.1f MB", float64(fi.Size())/1e6, sizeMet, float64(size(floor))/1e6)
	if peerErr == nil {
		fmt.Printf("; ecr-credential-provider %s %.1f MB", ecrVersion, float64(size(peerBin))/1e6)
	}
	fmt.Println()
	fmt.Println()
	fmt.Println(initReport(root, floorRow, fromFile, *initRuns))
	extras, extraMissed := extraReports(root, work, ours)
	missed += extraMissed
	for _, extra := range extras {
		fmt.Println()
		fmt.Println(extra)
	}
	if missed > 0 {
		fmt.Printf("\n%d target(s) missed\n", missed)
	} else {
		fmt.Println("\nall targets met")
	}
}

// buildAt builds our binary from the tree of a git revision, to compare
// a change with what it changes.
func buildAt(root, work, rev, ldflags string) (string, error) {
	dir := filepath.Join(work, "base-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := run(root, "sh", "-c", "git archive --format=tar \"$1\" | tar -x -C \"$2\"", "sh", rev, dir); err != nil {
		return "", err
	}
	out := filepath.Join(work, "node-credential-provider-base")
	return out, buildOurs(dir, out, ldflags)
}

// oursExp is the GOEXPERIMENT our binary is built with (-goexperiment).
var oursExp string

// buildOurs builds our binary from the module in dir, as make build does.
func buildOurs(dir, out, ldflags string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+ldflags, "-o", out, "./cmd/node-credential-provider")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOEXPERIMENT="+oursExp)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building our binary (GOEXPERIMENT=%s): %v\n%s", oursExp, err, b)
	}
	return nil
}

// pluginEnv is the env the kubelet runs us with, from the provider entry
// install writes (config.PluginEnv).
var pluginEnv = func() []string {
	var env []string
	for _, e := range config.PluginEnv {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}()

// loadAvg is the 1-minute load average, which says how noisy a run was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Fields(string(b))[0]
}

// peakRSS is the largest maximum resident set size, in KiB, of a few runs
// under GNU time, or 0 when it is not installed.
func peakRSS(s *scenario) int64 {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0
	}
	var peak int64
	for i := 0; i < 5; i++ {
		cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", "/dev/stderr", s.bin}, s.args...)...)
		cmd.Stdin = strings.NewReader(s.stdin)
		cmd.Env = append(os.Environ(), s.env...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			return 0
		}
		lines := strings.Fields(errb.String())
		if len(lines) == 0 {
			return 0
		}
		var kib int64
		fmt.Sscan(lines[len(lines)-1], &kib)
		if kib > peak {
			peak = kib
		}
	}
	return peak
}

// timeCheck times one run of s, checks its answer and records both times.
func timeCheck(s *scenario) time.Duration {
	wall, cpu, out, err := timeOne(s)
	if err != nil || !strings.Contains(out, s.expect) {
		fail(fmt.Errorf("%s: wrong answer (%v): %.300s", s.name, err, out))
	}
	s.wall = append(s.wall, wall)
	s.cpu = append(s.cpu, cpu)
	return wall
}

// timeOne runs a scenario's process once.
func timeOne(s *scenario) (wall, cpu time.Duration, stdout string, err error) {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdin = strings.NewReader(s.stdin)
	cmd.Env = append(os.Environ(), s.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		err = fmt.Errorf("%v: %s", err, errb.String())
	}
	if ps := cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime()
	}
	return wall, cpu, out.String(), err
}

func buildFloor(work, out, source string) error {
	dir := filepath.Join(work, filepath.Base(out)+"-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.21\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o644); err != nil {
		return err
	}
	return run(dir, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
}

// floorImports are the dependencies whose start-up cost is timed alone:
// the floor with one blank import, in the same interleaved loop, at the
// versions our go.mod selects. Each stands for what it drags in.
var floorImports = []struct{ pkg, module, why string }{
	{"go.yaml.in/yaml/v2", "go.yaml.in/yaml/v2", "YAML under sigs.k8s.io/yaml"},
	{"net/url", "", "url.Parse, as the kubelet matches"},
	{"github.com/spf13/pflag", "github.com/spf13/pflag", "flags"},
	{"crypto/sha256", "", "cache entry names"},
	{"crypto/cipher", "", "AES-GCM of the sealed cache"},
	{"encoding/json", "", "the protocol and docker configs"},
	{"sigs.k8s.io/json", "sigs.k8s.io/json", "strict decoding, as the kubelet decodes configs"},
	{"golang.org/x/sys/unix", "golang.org/x/sys", "keyring and locks"},
	{"os/exec", "", "credential helpers"},
	{"github.com/docker/docker-credential-helpers/client", "github.com/docker/docker-credential-helpers", "the helper protocol"},
}

// buildFloorImports builds one floor per floorImports entry.
func buildFloorImports(root, work string) ([]*scenario, error) {
	dir := filepath.Join(work, "floor-imports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The floor's GODEBUG defaults (its go.mod says go 1.21), so that a row
	// differs from the floor by its import alone; the go line itself must
	// be new enough for the imported modules.
	mod := "module floorimports\n\ngo 1.26\n\ngodebug default=go1.21\n"
	for _, fi := range floorImports {
		if fi.module == "" {
			continue
		}
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", fi.module)
		cmd.Dir = root
		v, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list -m %s: %v", fi.module, err)
		}
		mod += fmt.Sprintf("require %s %s\n", fi.module, strings.TrimSpace(string(v)))
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return nil, err
	}
	var out []*scenario
	for i, fi := range floorImports {
		sub := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		src := strings.Replace(floorSource, "import (\n", "import (\n\t_ \""+fi.pkg+"\"\n", 1)
		if err := os.WriteFile(filepath.Join(sub, "main.go"), []byte(src), 0o644); err != nil {
			return nil, err
		}
		bin := filepath.Join(work, fmt.Sprintf("floor-import-%d", i))
		if err := run(dir, "go", "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+filepath.Base(sub)); err != nil {
			return nil, err
		}
		out = append(out, &scenario{name: "floor + import _ " + fi.pkg + " (" + fi.why + ")", bin: bin, stdin: request, expect: `"localhost:5443"`})
	}
	return out, nil
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	// The floor and the imports are built as plain Go programs.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOEXPERIMENT=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func size(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func median(v []float64) float64 { return quantile(v, 0.5) }

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(float64(len(s)-1)*q+0.5)]
}

func medianD(v []time.Duration) time.Duration { return quantileD(v, 0.5) }

func quantileD(v []time.Duration, q float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*q+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// onFail holds what a failed run must still undo: the work directory, the
// pass store's gpg-agent.
var onFail []func()

func fail(err error) {
	fmt.Fprintf(os.Stderr, "ncp-bench: %v\n", err)
	for i := len(onFail) - 1; i >= 0; i-- {
		onFail[i]()
	}
	os.Exit(1)
}
