//go:build !linux

package cache

import "errors"

// newKernelStore fails everywhere but Linux: without the kernel key retention
// service there is nowhere to keep a secret off disk, so there is no cache.
func newKernelStore(ringDesc string, lockRing func() (func(), error)) (store, error) {
	return nil, errors.New("credential cache needs the Linux kernel key retention service")
}
