//go:build !unix

package static

import "testing"

// notRegularFile is a path that exists and is neither a regular file nor a
// directory: on Windows, the NUL device (there are no named pipes in the file
// system).
func notRegularFile(t *testing.T, _ string) string {
	t.Helper()
	return "NUL"
}
