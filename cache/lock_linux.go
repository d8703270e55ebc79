//go:build linux

package cache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

var errLockTimeout = errors.New("timed out waiting for the lock")

// lockFile takes an exclusive flock on path, creating the file (0600) if
// needed, and waits at most timeout, and not after ctx is done. flock is
// released by the kernel when the holder dies, so a killed process never
// leaves a lock behind.
func lockFile(ctx context.Context, path string, timeout time.Duration) (unlock func(), err error) {
	deadline := time.Now().Add(timeout)
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening lock %s: %w", path, err)
		}
		if err := flockUntil(ctx, fd, deadline); err != nil {
			if !errors.Is(err, errLockTimeout) {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		// Lock files are removed while locked (removeLock). If that happened
		// between our open and our flock, we hold a lock on an orphan inode
		// that nobody else will ever contend for: start again on the path.
		same, err := sameFile(fd, path)
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("checking lock %s: %w", path, err)
		}
		if same {
			return func() { unix.Close(fd) }, nil
		}
		unix.Close(fd)
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("locking %s: %w", path, errLockTimeout)
		}
	}
}

// flockUntil blocks in flock, which cannot time out itself, on a separate
// goroutine, so the holder's release wakes us at once instead of at the next
// poll. On timeout, or when ctx is done, the goroutine is abandoned and
// releases the lock (by closing fd) if it ever gets it.
func flockUntil(ctx context.Context, fd int, deadline time.Time) error {
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		return nil
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		return err
	}
	const (
		waiting int32 = iota
		taken
		abandoned
	)
	var state atomic.Int32
	done := make(chan error, 1)
	go func() {
		err := unix.Flock(fd, unix.LOCK_EX)
		for errors.Is(err, unix.EINTR) {
			err = unix.Flock(fd, unix.LOCK_EX)
		}
		if !state.CompareAndSwap(waiting, taken) {
			unix.Close(fd)
			return
		}
		done <- err
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var stop error
	select {
	case err := <-done:
		return err
	case <-timer.C:
		stop = errLockTimeout
	case <-ctx.Done():
		stop = fmt.Errorf("%w: %w", errLockTimeout, ctx.Err())
	}
	if state.CompareAndSwap(waiting, abandoned) {
		return stop
	}
	return <-done
}

func sameFile(fd int, path string) (bool, error) {
	var held, named unix.Stat_t
	if err := unix.Fstat(fd, &held); err != nil {
		return false, err
	}
	if err := unix.Stat(path, &named); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	return held.Dev == named.Dev && held.Ino == named.Ino, nil
}

// removeLock deletes a lock file nobody holds. A holder or waiter keeps it:
// removal is only an optimisation that bounds the directory.
func removeLock(path string) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return
	}
	if same, _ := sameFile(fd, path); same {
		unix.Unlink(path)
	}
}
