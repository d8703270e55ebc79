//go:build !unix

package provider

import (
	"io/fs"
	"os"
)

// Elsewhere there are no FIFOs to block on at open.
type osFile struct{ *os.File }

func openFile(path string) (openedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// ReadFile names the path itself: errors come without os's.
func (f osFile) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	return n, unwrapPath(err)
}

func (f osFile) mode() (fs.FileMode, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, unwrapPath(err)
	}
	return fi.Mode(), nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
