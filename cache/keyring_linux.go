//go:build linux

package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// kernelStore keeps entries as "user" keys in one keyring of our own, linked
// into the user keyring (@u) of the caller's uid. Every plugin process the
// kubelet starts runs as that uid, so every one reaches @u whatever session
// keyring it was given; none possesses the keys, hence the user permission
// bits. Keys live in kernel memory (never swapped, gone at reboot) and the
// kernel enforces their timeout. So does every other process of the uid in
// the host's user namespace, containers included: what it holds is sealed
// (seal.go), and it never sees a key to open it.
type kernelStore struct {
	desc     string
	lockRing func() (unlock func(), err error)
	ring     atomic.Int32 // 0 until found or made
	// beforeLink, when set, runs after a key is complete and before it becomes
	// visible. Tests kill the process there.
	beforeLink func()
}

func newKernelStore(ringDesc string, lockRing func() (func(), error)) (store, error) {
	s := &kernelStore{desc: ringDesc, lockRing: lockRing}
	if _, err := s.findRing(); err != nil {
		return nil, fmt.Errorf("kernel keyring unavailable: %w", err)
	}
	return s, nil
}

// findRing returns our keyring's serial, 0 if it does not exist yet.
func (s *kernelStore) findRing() (int, error) {
	if id := s.ring.Load(); id != 0 {
		return int(id), nil
	}
	id, err := findKeyring(s.desc)
	if id != 0 {
		s.ring.Store(int32(id))
	}
	return id, err
}

// findKeyring looks for a keyring named desc in @u; 0 when there is none.
func findKeyring(desc string) (int, error) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", desc, 0)
	if err != nil {
		if keyGone(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("keyctl search @u: %w", err)
	}
	return id, nil
}

// ensureRing makes our keyring when it does not exist. Under a file lock:
// adding a keyring displaces an existing one of the same name, and with it
// every entry other processes stored.
func (s *kernelStore) ensureRing() (int, error) {
	if id, err := s.findRing(); id != 0 || err != nil {
		return id, err
	}
	unlock, err := s.lockRing()
	if err != nil {
		return 0, err
	}
	defer unlock()
	if id, err := s.findRing(); id != 0 || err != nil {
		return id, err
	}
	// Versions before sealing kept values in plain text in a keyring named
	// without "sealed". It goes when its successor comes.
	if legacy, ok := strings.CutPrefix(s.desc, ringPrefix); ok {
		if old, _ := findKeyring(legacyRingPrefix + legacy); old != 0 {
			clearKeyring(old)
			invalidateKey(old)
		}
	}
	id, err := addPrivate("keyring", s.desc, nil, 0)
	if err != nil {
		return 0, err
	}
	defer unlinkKey(id, unix.KEY_SPEC_PROCESS_KEYRING)
	if err := linkKey(id, unix.KEY_SPEC_USER_KEYRING); err != nil {
		return 0, fmt.Errorf("keyctl link to @u: %w", err)
	}
	s.ring.Store(int32(id))
	return id, nil
}

// addPrivate makes a key in this process's keyring, which dies with the
// process: until linked elsewhere the key is invisible to others, and a crash
// before that leaves nothing behind. seconds 0 means no timeout.
func addPrivate(typ, desc string, payload []byte, seconds uint32) (int, error) {
	id, err := unix.AddKey(typ, desc, payload, unix.KEY_SPEC_PROCESS_KEYRING)
	if err != nil {
		return 0, fmt.Errorf("add_key %s: %w", typ, err)
	}
	if err := unix.KeyctlSetperm(id, permOwnerOnly); err != nil {
		unlinkKey(id, unix.KEY_SPEC_PROCESS_KEYRING)
		return 0, fmt.Errorf("keyctl setperm: %w", err)
	}
	if seconds > 0 {
		if err := setTimeout(id, seconds); err != nil {
			unlinkKey(id, unix.KEY_SPEC_PROCESS_KEYRING)
			return 0, fmt.Errorf("keyctl set_timeout: %w", err)
		}
	}
	return id, nil
}

func (s *kernelStore) read(name string) ([]byte, error) {
	ring, err := s.findRing()
	if err != nil || ring == 0 {
		return nil, errors.Join(errMiss, err)
	}
	id, err := unix.KeyctlSearch(ring, "user", name, 0)
	if err == nil {
		var b []byte
		if b, err = readKey(id, make([]byte, 512)); err == nil {
			return b, nil
		}
	}
	if keyGone(err) {
		return nil, errMiss
	}
	return nil, fmt.Errorf("reading cache key: %w", err)
}

func (s *kernelStore) write(name string, payload []byte, ttl time.Duration) error {
	// Whole seconds, rounded down: the kernel must drop the key no later than
	// the caller allowed. Zero would mean "never".
	secs := ttl / time.Second
	if secs < 1 {
		return nil
	}
	if secs > 1<<31-1 {
		secs = 1<<31 - 1
	}
	for attempt := 0; ; attempt++ {
		ring, err := s.ensureRing()
		if err != nil {
			return err
		}
		err = s.link(ring, name, payload, uint32(secs))
		if err == nil || attempt > 0 || !keyGone(err) {
			return err
		}
		// Our keyring was purged under us: find or make it again, once.
		s.ring.Store(0)
	}
}

func (s *kernelStore) link(ring int, name string, payload []byte, secs uint32) error {
	id, err := addPrivate("user", name, payload, secs)
	if err != nil {
		return err
	}
	defer unlinkKey(id, unix.KEY_SPEC_PROCESS_KEYRING)
	if s.beforeLink != nil {
		s.beforeLink()
	}
	// Linking displaces the previous key of the same name in one step:
	// readers see the old payload or the new one, never a mix.
	if err := linkKey(id, ring); err != nil {
		return fmt.Errorf("keyctl link: %w", err)
	}
	return nil
}

func (s *kernelStore) names() ([]string, error) {
	ring, err := s.findRing()
	if err != nil || ring == 0 {
		return nil, err
	}
	list, err := readKey(ring, nil)
	if err != nil {
		if keyGone(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing cache keyring: %w", err)
	}
	var names []string
	for i := 0; i+4 <= len(list); i += 4 {
		id := int(int32(binary.NativeEndian.Uint32(list[i:])))
		d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		if err != nil {
			continue // expired or removed since the list was read
		}
		// "type;uid;gid;perm;description"
		f := strings.SplitN(d, ";", 5)
		if len(f) == 5 && f[0] == "user" {
			names = append(names, f[4])
		}
	}
	return names, nil
}

func (s *kernelStore) remove(name string) error {
	ring, err := s.findRing()
	if err != nil || ring == 0 {
		return err
	}
	id, err := unix.KeyctlSearch(ring, "user", name, 0)
	if err == nil {
		// Invalidate rather than unlink: the key is unusable at once
		// everywhere, including through a reader's stale serial.
		err = invalidateKey(id)
	}
	if err != nil && !keyGone(err) {
		return fmt.Errorf("removing cache key: %w", err)
	}
	return nil
}

// destroy removes our keyring and everything in it.
func (s *kernelStore) destroy() error {
	ring, err := s.findRing()
	if err != nil || ring == 0 {
		return err
	}
	s.ring.Store(0)
	clearKeyring(ring)
	return invalidateKey(ring)
}
