//go:build linux

package cache

import (
	"errors"
	"syscall"
	"unsafe"
)

// The kernel key retention service, reached with raw syscalls: the handful of
// operations below do not justify golang.org/x/sys, and libkeyutils is C.
// Numbers are from <linux/keyctl.h>; they are the same on every architecture.
const (
	keySpecProcessKeyring = -2
	keySpecSessionKeyring = -3
	keySpecUserKeyring    = -4

	keyctlJoinSessionKeyring = 1
	keyctlSetPerm            = 5
	keyctlDescribe           = 6
	keyctlClear              = 7
	keyctlLink               = 8
	keyctlUnlink             = 9
	keyctlSearch             = 10
	keyctlRead               = 11
	keyctlSetTimeout         = 15
	keyctlInvalidate         = 21

	// Possessor and user (same uid) may do everything; group and others
	// nothing. The user bits matter: a plugin process started by a systemd
	// service with KeyringMode=private does not possess the user keyring's
	// contents, so without them it could see the entries but not read them.
	permOwnerOnly = 0x3f3f0000
)

type keySerial int32

func keyctl(cmd int, a2, a3, a4, a5 uintptr) (uintptr, error) {
	r, _, errno := syscall.Syscall6(syscall.SYS_KEYCTL, uintptr(cmd), a2, a3, a4, a5, 0)
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

// addKey creates a key in ring. A key of the same type and description that
// is already linked in ring is updated in place instead.
func addKey(typ, desc string, payload []byte, ring keySerial) (keySerial, error) {
	t, err := syscall.BytePtrFromString(typ)
	if err != nil {
		return 0, err
	}
	d, err := syscall.BytePtrFromString(desc)
	if err != nil {
		return 0, err
	}
	var p unsafe.Pointer
	if len(payload) > 0 {
		p = unsafe.Pointer(&payload[0])
	}
	r, _, errno := syscall.Syscall6(syscall.SYS_ADD_KEY, uintptr(unsafe.Pointer(t)), uintptr(unsafe.Pointer(d)),
		uintptr(p), uintptr(len(payload)), uintptr(ring), 0)
	if errno != 0 {
		return 0, errno
	}
	return keySerial(r), nil
}

// searchKey finds a key by type and description in ring and the keyrings
// linked below it. Expired, revoked and invalidated keys are not found.
func searchKey(ring keySerial, typ, desc string) (keySerial, error) {
	t, err := syscall.BytePtrFromString(typ)
	if err != nil {
		return 0, err
	}
	d, err := syscall.BytePtrFromString(desc)
	if err != nil {
		return 0, err
	}
	r, err := keyctl(keyctlSearch, uintptr(ring), uintptr(unsafe.Pointer(t)), uintptr(unsafe.Pointer(d)), 0)
	return keySerial(r), err
}

// readKey returns a key's payload, or a keyring's list of serials. buf is
// used when it is large enough.
func readKey(id keySerial, buf []byte) ([]byte, error) {
	for {
		var p unsafe.Pointer
		if cap(buf) > 0 {
			buf = buf[:cap(buf)]
			p = unsafe.Pointer(&buf[0])
		}
		n, err := keyctl(keyctlRead, uintptr(id), uintptr(p), uintptr(len(buf)), 0)
		if err != nil {
			return nil, err
		}
		if int(n) <= len(buf) {
			return buf[:n], nil
		}
		// The payload grew or buf was small: the kernel reports the size.
		buf = make([]byte, n)
	}
}

// describeKey returns "type;uid;gid;perm;description".
func describeKey(id keySerial) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := keyctl(keyctlDescribe, uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
		if err != nil {
			return "", err
		}
		if int(n) <= len(buf) {
			// The kernel counts and writes the terminating NUL.
			if n > 0 && buf[n-1] == 0 {
				n--
			}
			return string(buf[:n]), nil
		}
		buf = make([]byte, n)
	}
}

func setPerm(id keySerial, perm uint32) error {
	_, err := keyctl(keyctlSetPerm, uintptr(id), uintptr(perm), 0, 0)
	return err
}

func setTimeout(id keySerial, seconds uint32) error {
	_, err := keyctl(keyctlSetTimeout, uintptr(id), uintptr(seconds), 0, 0)
	return err
}

func linkKey(id, ring keySerial) error {
	_, err := keyctl(keyctlLink, uintptr(id), uintptr(ring), 0, 0)
	return err
}

func unlinkKey(id, ring keySerial) error {
	_, err := keyctl(keyctlUnlink, uintptr(id), uintptr(ring), 0, 0)
	return err
}

func invalidateKey(id keySerial) error {
	_, err := keyctl(keyctlInvalidate, uintptr(id), 0, 0, 0)
	return err
}

func clearKeyring(ring keySerial) error {
	_, err := keyctl(keyctlClear, uintptr(ring), 0, 0, 0)
	return err
}

// joinNewSessionKeyring gives the calling process a fresh anonymous session
// keyring, as systemd does for a service with KeyringMode=private. Tests use
// it to prove that separate processes share entries without possessing them.
func joinNewSessionKeyring() error {
	_, err := keyctl(keyctlJoinSessionKeyring, 0, 0, 0, 0)
	return err
}

// keyGone reports errors that mean "no usable key": absent, expired, revoked
// or invalidated, or unreadable because something foreign took the name.
func keyGone(err error) bool {
	return errors.Is(err, syscall.ENOKEY) || errors.Is(err, syscall.EKEYEXPIRED) ||
		errors.Is(err, syscall.EKEYREVOKED) || errors.Is(err, syscall.EACCES)
}
