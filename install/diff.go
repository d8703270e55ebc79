//go:build linux

package install

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// WriteDiff writes the plan as a unified diff, one file after another,
// with host paths. A binary is summarised by size and digest.
func (p *Plan) WriteDiff(w io.Writer) {
	for _, c := range p.Changes {
		oldLabel, newLabel := "a"+c.Path, "b"+c.Path
		if !c.Existed {
			oldLabel = "/dev/null"
		}
		if c.Remove {
			newLabel = "/dev/null"
		}
		if c.Binary {
			switch {
			case c.Remove:
				fmt.Fprintf(w, "--- %s\n+++ /dev/null\nbinary %s removed (%s)\n", oldLabel, c.Path, digest(c.Old))
			case c.Existed:
				fmt.Fprintf(w, "--- %s\n+++ %s\nbinary %s replaced: %s -> %s, mode %04o\n", oldLabel, newLabel, c.Path, digest(c.Old), digest(c.New), c.Mode)
			default:
				fmt.Fprintf(w, "--- /dev/null\n+++ %s\nbinary %s added: %s, mode %04o\n", newLabel, c.Path, digest(c.New), c.Mode)
			}
			continue
		}
		d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: diffLines(c.Old), B: diffLines(c.New), FromFile: oldLabel, ToFile: newLabel, Context: 3,
		})
		fmt.Fprint(w, d)
	}
}

// diffLines splits data into lines that each end with a line end, as
// difflib wants; a last line without one gets one, for display.
func diffLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}

func digest(b []byte) string {
	return fmt.Sprintf("%d bytes, sha256 %x", len(b), sha256.Sum256(b))
}
