//go:build unix

package static

import (
	"path/filepath"
	"syscall"
	"testing"
)

// notRegularFile is a path that exists and is neither a regular file nor a
// directory: a named pipe, which a plain open would block on.
func notRegularFile(t *testing.T, dir string) string {
	t.Helper()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return fifo
}
