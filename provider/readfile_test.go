//go:build unix

package provider

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(write("target", "via link"), link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want, wantErr string
		max                       int64
	}{
		{name: "regular", path: write("a", "hello"), want: "hello", max: 5},
		{name: "empty", path: write("empty", ""), want: "", max: 5},
		{name: "symlink to a file", path: link, want: "via link", max: 100},
		{name: "one byte too many", path: write("big", "hello!"), max: 5, wantErr: "larger than 0 KiB"},
		{name: "missing", path: filepath.Join(dir, "nope"), max: 5, wantErr: "no such file"},
		{name: "directory", path: dir, max: 5, wantErr: "not a regular file (a directory)"},
		// Opening a FIFO without O_NONBLOCK waits for a writer forever.
		{name: "fifo", path: fifo, max: 5, wantErr: "not a regular file (a named pipe)"},
		// /dev/zero never ends.
		{name: "dev zero", path: "/dev/zero", max: 5, wantErr: "not a regular file (a character device)"},
		{name: "symlink loop", path: loop, max: 5, wantErr: "too many levels of symbolic links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got, err := ReadFile(tc.path, tc.max)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.wantErr == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			var pe *fs.PathError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &pe) {
				t.Fatalf("error = %v; want a path error containing %q", err, tc.wantErr)
			}
		})
	}
}
