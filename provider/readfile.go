package provider

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is returned by ReadFile for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ReadFile reads a configuration or credentials file of at most max bytes.
// The kubelet runs us with a one-minute limit, so a path that names
// something that never ends or never answers must fail at once instead:
// a FIFO (opening one blocks until a writer comes, and so would reading),
// a device such as /dev/zero. A directory is refused alike. Opening with O_NONBLOCK keeps
// the open of a FIFO from blocking; the file is then checked on the
// descriptor we read, so a path swapped between a stat and the open cannot
// slip through. Errors are *fs.PathError, as os.ReadFile's, and never
// quote the content.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileKind(fi.Mode()))}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Max: max}}
	}
	return data, nil
}

// TooLargeError says a file is over ReadFile's bound.
type TooLargeError struct{ Max int64 }

func (e *TooLargeError) Error() string {
	if e.Max >= 1<<20 {
		return fmt.Sprintf("larger than %d MiB", e.Max>>20)
	}
	return fmt.Sprintf("larger than %d KiB", e.Max>>10)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// FileError says what went wrong with the file at path as "PATH: REASON",
// naming the path once: the operation and path of an *fs.PathError are
// dropped, its cause kept (errors.Is still sees it).
func FileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
}
