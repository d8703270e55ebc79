package cache

import (
	"errors"
	"time"
)

// store keeps entry payloads under their names. The kernel keyring is the
// only implementation; tests wrap it to inject faults.
type store interface {
	// read returns the payload named name, errMiss when there is none.
	read(name string) ([]byte, error)
	// write replaces name's payload atomically; it is gone after ttl.
	write(name string, payload []byte, ttl time.Duration) error
	// names lists the entries, live or about to expire.
	names() ([]string, error)
	// remove deletes name; a missing name is not an error.
	remove(name string) error
}

var errMiss = errors.New("no cache entry")
