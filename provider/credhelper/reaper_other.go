//go:build !unix

package credhelper

import "io"

// EnableReaper does nothing here: without process groups there is nothing
// for a reaper to kill.
func EnableReaper(argv ...string) {}

// Reap returns at once.
func Reap(in io.Reader) int { return 0 }
