//go:build !linux

package cache

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// The cache keeps sealed values in the Linux kernel key retention service;
// elsewhere there is nowhere to keep them off disk, so there is no cache:
// Open fails with errUnsupported and callers ask their sources every time.
var errUnsupported = errors.New("the node-local credential cache needs the Linux kernel key retention service; there is none on " + runtime.GOOS)

func platformErr() error { return errUnsupported }

func newKernelStore(string, func() (func(), error)) (store, error)    { return nil, errUnsupported }
func lockFile(context.Context, string, time.Duration) (func(), error) { return nil, errUnsupported }
func removeLock(string)                                               {}
func ensurePrivateDir(string) error                                   { return errUnsupported }
func keyFileState(string) (fileState, error)                          { return fileState{}, errUnsupported }
func loadKey(string) ([keySize]byte, fileState, error) {
	return [keySize]byte{}, fileState{}, errUnsupported
}
func createKey(string) error { return errUnsupported }
