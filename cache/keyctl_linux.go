//go:build linux

package cache

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The kernel key retention service, through golang.org/x/sys/unix.

// permOwnerOnly: possessor and user (same uid) may do everything; group and
// others nothing. The user bits matter: a plugin process started by a systemd
// service with KeyringMode=private does not possess the user keyring's
// contents, so without them it could see the entries but not read them. They
// also let a uid-0 container in the host user namespace read the entries,
// which is why every payload is sealed (seal.go).
const permOwnerOnly = 0x3f3f0000

// readKey returns a key's payload, or a keyring's list of serials. buf is
// used when it is large enough.
func readKey(id int, buf []byte) ([]byte, error) {
	for {
		buf = buf[:cap(buf)]
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return nil, err
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		// The payload grew or buf was small: the kernel reports the size.
		buf = make([]byte, n)
	}
}

func keyctl(cmd, id, arg int) error {
	_, err := unix.KeyctlInt(cmd, id, arg, 0, 0)
	return err
}

func setTimeout(id int, seconds uint32) error {
	return keyctl(unix.KEYCTL_SET_TIMEOUT, id, int(seconds))
}
func linkKey(id, ring int) error   { return keyctl(unix.KEYCTL_LINK, id, ring) }
func unlinkKey(id, ring int) error { return keyctl(unix.KEYCTL_UNLINK, id, ring) }
func invalidateKey(id int) error   { return keyctl(unix.KEYCTL_INVALIDATE, id, 0) }
func clearKeyring(ring int) error  { return keyctl(unix.KEYCTL_CLEAR, ring, 0) }

// joinNewSessionKeyring gives the calling process a fresh anonymous session
// keyring, as systemd does for a service with KeyringMode=private. Tests use
// it to prove that separate processes share entries without possessing them.
// (unix.KeyctlJoinSessionKeyring always passes a name; an anonymous keyring
// needs NULL.)
func joinNewSessionKeyring() error { return keyctl(unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0) }

// keyGone reports errors that mean "no usable key": absent, expired, revoked
// or invalidated, or unreadable because something foreign took the name.
func keyGone(err error) bool {
	return errors.Is(err, unix.ENOKEY) || errors.Is(err, unix.EKEYEXPIRED) ||
		errors.Is(err, unix.EKEYREVOKED) || errors.Is(err, unix.EACCES)
}
