package vlog

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// klogLine is klog's text header; the same pattern the cmd tests hold
// every stderr line to.
var klogLine = regexp.MustCompile(`^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ ([\w.]+):\d+\] (.*)\n$`)

func capture(t *testing.T) *[]string {
	t.Helper()
	var lines lineWriter
	SetOutput(&lines)
	t.Cleanup(func() { SetOutput(os.Stderr); verbosity.Store(0) })
	return (*[]string)(&lines)
}

type lineWriter []string

func (w *lineWriter) Write(b []byte) (int, error) { *w = append(*w, string(b)); return len(b), nil }

func TestFormat(t *testing.T) {
	lines := capture(t)
	Infof("image %s: %d", "a.example.com/app", 2)
	Warningf("cache: %v\n", "broken")
	if len(*lines) != 2 {
		t.Fatalf("%q", *lines)
	}
	for i, want := range [][2]string{{"I", "image a.example.com/app: 2"}, {"W", "cache: broken"}} {
		m := klogLine.FindStringSubmatch((*lines)[i])
		if m == nil || m[1] != want[0] || m[2] != "vlog_test.go" || m[3] != want[1] {
			t.Errorf("line %d: %q, want severity %s, this file, message %q", i, (*lines)[i], want[0], want[1])
		}
	}
}

func TestVerbosity(t *testing.T) {
	lines := capture(t)
	l := Verbosity()
	if err := l.Set("x"); err == nil || !strings.Contains(err.Error(), "invalid level") {
		t.Errorf("Set(x): %v", err)
	}
	V(2).Infof("off")
	if V(1).Enabled() || len(*lines) != 0 {
		t.Fatalf("level 0 logged %q", *lines)
	}
	if err := l.Set("2"); err != nil || l.String() != "2" {
		t.Fatalf("Set(2): %v, String %q", err, l.String())
	}
	V(2).Infof("on %d", 2)
	V(3).Infof("off")
	if !V(2).Enabled() || V(3).Enabled() || len(*lines) != 1 || !strings.HasSuffix((*lines)[0], "] on 2\n") {
		t.Errorf("level 2: %q", *lines)
	}
	if m := klogLine.FindStringSubmatch((*lines)[0]); m == nil || m[2] != "vlog_test.go" {
		t.Errorf("V().Infof names the wrong caller: %q", (*lines)[0])
	}
}
