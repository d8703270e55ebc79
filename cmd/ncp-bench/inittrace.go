package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

// initCost is what GODEBUG=inittrace=1 says one package's init costs.
type initCost struct {
	clock         []float64 // ms, one per run
	bytes, allocs int64
}

// traceInit runs a scenario n times with GODEBUG=inittrace=1 and collects
// every package's init cost, and the sum per run.
func traceInit(s *scenario, n int) (map[string]*initCost, []float64, error) {
	costs := map[string]*initCost{}
	var totals []float64
	for i := 0; i < n; i++ {
		cmd := exec.Command(s.bin, s.args...)
		cmd.Stdin = strings.NewReader(s.stdin)
		cmd.Env = append(append(os.Environ(), s.env...), "GODEBUG=inittrace=1")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			return nil, nil, fmt.Errorf("%s: %v: %s", s.name, err, errb.String())
		}
		total := 0.0
		for _, line := range strings.Split(errb.String(), "\n") {
			// init go.yaml.in/yaml/v2 @2.0 ms, 0.20 ms clock, 27072 bytes, 262 allocs
			f := strings.Fields(line)
			if len(f) != 11 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			clock, err1 := strconv.ParseFloat(f[4], 64)
			b, err2 := strconv.ParseInt(f[7], 10, 64)
			a, err3 := strconv.ParseInt(f[9], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				continue
			}
			c := costs[f[1]]
			if c == nil {
				c = &initCost{}
				costs[f[1]] = c
			}
			c.clock = append(c.clock, clock)
			c.bytes, c.allocs = b, a
			total += clock
		}
		totals = append(totals, total)
	}
	return costs, totals, nil
}

// importers maps each package linked into pkg's binary to the packages of
// that binary that import it.
func importers(root, pkg string) map[string][]string {
	cmd := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}|{{join .Imports ","}}`, pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	by := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, imps, _ := strings.Cut(line, "|")
		for _, i := range strings.Split(imps, ",") {
			if i != "" {
				by[i] = append(by[i], p)
			}
		}
	}
	return by
}

const modulePath = "github.com/node-credential-provider/node-credential-provider/"

// linkedBy names a few importers, ours and other modules' first.
func linkedBy(imps []string) string {
	sort.SliceStable(imps, func(i, j int) bool { return rank(imps[i]) < rank(imps[j]) })
	var names []string
	for i, p := range imps {
		if i == 3 {
			names = append(names, fmt.Sprintf("+%d more", len(imps)-3))
			break
		}
		names = append(names, strings.TrimPrefix(p, modulePath))
	}
	return strings.Join(names, ", ")
}

func rank(p string) int {
	switch {
	case strings.HasPrefix(p, modulePath):
		return 0
	case strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
		return 1
	}
	return 2
}

// initReport is the per-package init cost of our plugin path, the floor's
// for comparison, with what links each package: the numbers behind "keep
// package init off the hot path".
func initReport(root string, floor, ours *scenario, n int) string {
	fc, ftot, err := traceInit(floor, n)
	if err != nil {
		return "init: " + err.Error()
	}
	oc, otot, err := traceInit(ours, n)
	if err != nil {
		return "init: " + err.Error()
	}
	by := importers(root, "./cmd/node-credential-provider")
	type row struct {
		pkg string
		med float64
		c   *initCost
	}
	var rows []row
	for p, c := range oc {
		if m := median(c.clock); m >= 0.004 || c.allocs >= 20 {
			rows = append(rows, row{p, m, c})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].med > rows[j].med })
	var b strings.Builder
	fmt.Fprintf(&b, "package init, GODEBUG=inittrace=1, median of %d runs each: ours (answer from a docker config file) %.3f ms in total, the floor %.3f ms\n\n", n, median(otot), median(ftot))
	b.WriteString("| package | init (median) | allocs | bytes | floor has it | linked by |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		inFloor := "no"
		if _, ok := fc[r.pkg]; ok {
			inFloor = "yes"
		}
		fmt.Fprintf(&b, "| %s | %.0f µs | %d | %d | %s | %s |\n", r.pkg, r.med*1000, r.c.allocs, r.c.bytes, inFloor, linkedBy(by[r.pkg]))
	}
	return strings.TrimRight(b.String(), "\n")
}
