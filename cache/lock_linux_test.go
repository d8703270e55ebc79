//go:build linux

package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := lockFile(context.Background(), path, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > most.Load() {
				most.Store(n)
			}
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders at once", most.Load())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi.Mode(), err)
	}
}

// The wait ends when the caller's context is done, however long the lock
// timeout: the run's deadline bounds it.
func TestLockFileStopsAtContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	unlock, err := lockFile(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = lockFile(ctx, path, time.Hour)
	if !errors.Is(err, errLockTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second { // an hour without the context; loose for loaded machines
		t.Errorf("gave up after %v", d)
	}
}

func TestLockFileTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	unlock, err := lockFile(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = lockFile(context.Background(), path, 50*time.Millisecond)
	if !errors.Is(err, errLockTimeout) {
		t.Fatalf("second lock: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 5*time.Second { // loose upper bound for loaded machines
		t.Errorf("timed out after %v", d)
	}
	unlock()
	// The abandoned waiter gets the lock now and must give it back.
	unlock, err = lockFile(context.Background(), path, time.Second)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	unlock()
}

func TestRemoveLockSparesHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	unlock, err := lockFile(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	removeLock(path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("held lock removed: %v", err)
	}
	unlock()
	removeLock(path)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("free lock kept: %v", err)
	}
}

func TestLockFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	os.WriteFile(target, []byte("x"), 0o644)
	path := filepath.Join(dir, "k.lock")
	os.Symlink(target, path)
	if _, err := lockFile(context.Background(), path, time.Second); err == nil {
		t.Fatal("followed a symlink")
	}
}
