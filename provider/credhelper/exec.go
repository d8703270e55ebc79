package credhelper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/docker/docker-credential-helpers/client"
)

// waitDelay bounds how long we wait for a helper's pipes to close after it
// exited or was killed: a grandchild that left the process group (a daemon
// started with setsid) may hold them open forever.
const waitDelay = 500 * time.Millisecond

// maxStderr bounds what we keep of a helper's stderr, of which at most one
// short line is ever shown.
const maxStderr = 4 << 10

// passedEnv are the variables of our own environment a helper sees. The
// kubelet's environment may hold anything (cloud credentials, tokens for
// other plugins); a helper needs little more than where to find programs and
// its user's files, and how to reach the network.
var passedEnv = []string{
	"PATH", "HOME", "USER", "LANG",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"XDG_RUNTIME_DIR",
}

// Exec returns a ProgramFunc that runs command (found in PATH) with each
// call bounded by timeout and by ctx (the run's deadline). The helper sees
// only the passedEnv variables of our environment plus env and runs in its
// own process group. That group is killed as a whole when the call ends, in
// time or not, so nothing the helper started in it outlives the call; and
// should we be killed first (the kubelet SIGKILLs a run at 60 s), the
// helper dies with us (parent-death signal) and the reaper kills what is
// left of its group (see EnableReaper). Its stdout is read up to MaxOutput
// bytes. Errors are *TimeoutError, *ExitError, ErrOutputTooLarge or exec's
// own (exec.ErrNotFound); none of them holds what the helper printed on
// stdout.
func Exec(ctx context.Context, command string, timeout time.Duration, env map[string]string) client.ProgramFunc {
	environ := environment(os.Getenv, env)
	return func(args ...string) client.Program {
		return &program{ctx: ctx, command: command, args: args, env: environ, timeout: timeout}
	}
}

func environment(getenv func(string) string, extra map[string]string) []string {
	var out []string
	for _, k := range passedEnv {
		if _, override := extra[k]; override {
			continue
		}
		if v := getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+extra[k])
	}
	return out
}

type program struct {
	ctx     context.Context
	command string
	args    []string
	env     []string
	timeout time.Duration
	stdin   io.Reader
}

func (p *program) Input(in io.Reader) { p.stdin = in }

func (p *program) Output() ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.command, p.args...)
	cmd.Env = p.env
	cmd.Stdin = p.stdin
	stdout := &capped{max: MaxOutput}
	stderr := &capped{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd) }

	err := runHelper(cmd)
	if ctx.Err() != nil {
		if p.ctx.Err() != nil {
			return nil, &TimeoutError{After: p.timeout, RunDeadline: true}
		}
		return nil, &TimeoutError{After: p.timeout}
	}
	if stdout.overflow {
		return nil, ErrOutputTooLarge
	}
	var xe *exec.ExitError
	switch {
	case errors.As(err, &xe):
		return stdout.Bytes(), &ExitError{Status: xe.ProcessState.String(), Message: oneLine(stderr.Bytes())}
	case errors.Is(err, exec.ErrWaitDelay):
		// The helper exited successfully and said all it had to say; only a
		// process it left behind kept the pipe open (and was killed).
		return stdout.Bytes(), nil
	case err != nil:
		return nil, err
	}
	return stdout.Bytes(), nil
}

// capped keeps the first max bytes written to it and discards the rest,
// still accepting them so the helper is not blocked on a full pipe. (The
// buffer is a field, not embedded: an embedded bytes.Buffer's ReadFrom would
// let io.Copy bypass Write and the cap.)
type capped struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.overflow = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *capped) Bytes() []byte { return c.buf.Bytes() }
