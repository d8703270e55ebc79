// Package vlog writes the few log lines we print on stderr, in klog's
// text format (the kubelet logs a plugin's stderr, and operators read both
// side by side), with klog's -v verbosity.
//
// It is not k8s.io/klog/v2: klog's init registers its fifteen flags and
// asks the kernel for the host name on every start, and it links log/slog
// and logr. A plugin run prints at most a few lines; see the README's
// Measured section for what that init cost.
package vlog

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	verbosity atomic.Int32
	mu        sync.Mutex
	out       = func(b []byte) { os.Stderr.Write(b) }
)

// SetOutput sends the lines to w instead of the process's stderr: a run of
// the command in a test writes them to its own stderr.
func SetOutput(w io.Writer) {
	mu.Lock()
	defer mu.Unlock()
	out = func(b []byte) { _, _ = w.Write(b) }
}

// Level is the -v flag's value: a pflag.Value and a flag.Value.
type Level struct{}

// Verbosity is the value to register as -v.
func Verbosity() *Level { return &Level{} }

func (*Level) String() string { return strconv.Itoa(int(verbosity.Load())) }

// Set parses a level as klog does: a 32-bit decimal integer.
func (*Level) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid level %q", s)
	}
	verbosity.Store(int32(v))
	return nil
}

// Type names the value in pflag's usage.
func (*Level) Type() string { return "Level" }

// Verbose says whether a level is enabled; klog.V's counterpart.
type Verbose bool

// V reports whether -v is at least level.
func V(level int32) Verbose { return verbosity.Load() >= level }

// Enabled reports whether the level is on.
func (v Verbose) Enabled() bool { return bool(v) }

// Infof logs at info severity when the level is on.
func (v Verbose) Infof(format string, args ...any) {
	if v {
		write('I', format, args...)
	}
}

// Infof logs at info severity.
func Infof(format string, args ...any) { write('I', format, args...) }

// Warningf logs at warning severity.
func Warningf(format string, args ...any) { write('W', format, args...) }

// write formats one line as klog does,
// "Lmmdd hh:mm:ss.uuuuuu pid file:line] msg", and writes it in one write.
func write(severity byte, format string, args ...any) {
	_, file, line, ok := runtime.Caller(2)
	if !ok {
		file, line = "???", 1
	}
	now := time.Now()
	_, month, day := now.Date()
	hour, minute, sec := now.Clock()
	msg := fmt.Sprintf(format, args...)
	b := fmt.Appendf(make([]byte, 0, 64+len(msg)), "%c%02d%02d %02d:%02d:%02d.%06d %7d %s:%d] %s",
		severity, int(month), day, hour, minute, sec, now.Nanosecond()/1000, os.Getpid(), filepath.Base(file), line, msg)
	if len(msg) == 0 || msg[len(msg)-1] != '\n' {
		b = append(b, '\n')
	}
	mu.Lock()
	defer mu.Unlock()
	out(b)
}
