//go:build linux

package cache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// platformErr is nil: Linux has everything the cache needs.
func platformErr() error { return nil }

// keyFileState checks the key file the way ssh checks a private key: not a
// symbolic link, a regular file, owned by the caller, no permission for
// group or others, exactly keySize bytes. It runs before every use, one
// lstat; the key is read again (loadKey) only when the file's identity or
// change time moved, so a file chmodded, chowned, rewritten or replaced is
// seen at its next use. errNoKey when there is no file yet.
func keyFileState(path string) (fileState, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fileState{}, errNoKey
		}
		return fileState{}, fmt.Errorf("key file: %w", err)
	}
	return checkKeyStat(path, &st)
}

func checkKeyStat(path string, st *unix.Stat_t) (fileState, error) {
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fileState{}, fmt.Errorf("key file %s is a symbolic link", path)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fileState{}, fmt.Errorf("key file %s is not a regular file", path)
	case int(st.Uid) != os.Geteuid():
		return fileState{}, fmt.Errorf("key file %s is owned by uid %d, not %d", path, st.Uid, os.Geteuid())
	case st.Mode&0o077 != 0:
		return fileState{}, fmt.Errorf("key file %s has mode %04o: group or others may use it (want 0600)", path, st.Mode&0o7777)
	case st.Size != keySize:
		return fileState{}, fmt.Errorf("key file %s holds %d bytes, not %d", path, st.Size, keySize)
	}
	return fileState{dev: st.Dev, ino: st.Ino, ctime: st.Ctim.Nano()}, nil
}

// loadKey reads the key, checking the open file as keyFileState checks the
// path, so a file swapped between the two is caught.
func loadKey(path string) (key [keySize]byte, state fileState, err error) {
	// O_NONBLOCK: a FIFO planted in the key's place must not hang the open.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return key, state, errNoKey
		case errors.Is(err, unix.ELOOP):
			return key, state, fmt.Errorf("key file %s is a symbolic link", path)
		}
		return key, state, fmt.Errorf("key file: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return key, state, fmt.Errorf("key file: %w", err)
	}
	if state, err = checkKeyStat(path, &st); err != nil {
		return key, state, err
	}
	n, err := unix.Pread(fd, key[:], 0)
	if err != nil {
		return key, state, fmt.Errorf("key file: %w", err)
	}
	if n != keySize {
		return key, state, fmt.Errorf("key file %s: read %d bytes, not %d", path, n, keySize)
	}
	return key, state, nil
}

// createKey makes the key file once, atomically, when there is none: a new
// key is written and synced under a name of its own, then linked to path.
// link, unlike rename, never replaces: of concurrent first creators one wins
// and the others find its key, so no entry is ever sealed with a key that
// is not the one on disk. A key already there is not an error.
func createKey(path string) error {
	var key [keySize]byte
	rand.Read(key[:]) // never fails (crypto/rand, Go 1.24+)
	var tag [8]byte
	rand.Read(tag[:])
	tmp := path + keyTempInfix + hex.EncodeToString(tag[:])
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	defer unix.Unlink(tmp) // its second name once linked; the only one if not
	n, err := unix.Write(fd, key[:])
	if err == nil && n != keySize {
		err = unix.EIO
	}
	if err == nil {
		// Synced before it has its name: a crash never leaves an empty
		// key file that would turn the cache off until someone deletes it.
		err = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := unix.Link(tmp, path); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("creating key file: %w", err)
	}
	return nil
}

// ensurePrivateDir makes dir owner-only, and refuses somebody else's.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("cache directory %s is not a directory", dir)
	}
	// Somebody else's directory could swap lock files and the key under us.
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("cache directory %s is owned by uid %d, not %d", dir, st.Uid, os.Geteuid())
	}
	if st.Mode&0o777 != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("cache directory: %w", err)
		}
	}
	return nil
}
