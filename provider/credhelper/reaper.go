//go:build unix

package credhelper

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/node-credential-provider/node-credential-provider/internal/vlog"
)

// The parent-death signal reaches a helper, not what the helper started: a
// shell helper's sleep, a helper's own children. Those stay in the helper's
// process group, which we kill when a call ends; but when we are killed
// first (the kubelet SIGKILLs a run at 60 s, a kubelet restart kills it
// too), nobody would. The reaper is a small process of our own binary,
// started with the first helper of a run: we tell it each helper's process
// group over a pipe, and when the pipe closes (we exited, however we died)
// it kills every group still open and exits. A process that leaves its
// helper's group on purpose (setsid: a daemon such as gpg-agent, meant to
// serve many calls) is not ours to kill and is left alone.

var reaper struct {
	mu      sync.Mutex
	argv    []string // how to start it; nil: no reaper
	started bool
	w       *os.File // the pipe to it; nil when it could not start
}

// EnableReaper says how to start the reaper: argv runs this binary in a
// mode that calls Reap with the pipe as stdin. It is started lazily, when
// the first helper of the run starts: a run answered from files or from the
// cache starts no process. Without EnableReaper, helpers still die with us
// (parent-death signal), but not what they started.
func EnableReaper(argv ...string) {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	reaper.argv = argv
}

// watchGroup tells the reaper about the process group of a helper that
// just started.
func watchGroup(pgid int) { tellReaper('+', pgid) }

// unwatchGroup tells the reaper that the group was killed.
func unwatchGroup(pgid int) { tellReaper('-', pgid) }

func tellReaper(op byte, pgid int) {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	if !reaper.started && reaper.argv != nil && op == '+' {
		reaper.started = true
		reaper.w = startReaper(reaper.argv)
	}
	if reaper.w == nil {
		return
	}
	// One short line is one atomic pipe write.
	if _, err := fmt.Fprintf(reaper.w, "%c%d\n", op, pgid); err != nil {
		vlog.V(2).Infof("helper reaper: %v", err)
	}
}

// startReaper makes the pipe and starts the reaper on it in the
// background: what we write is buffered in the pipe until it reads, so the
// helper that made us start it does not wait for it.
func startReaper(argv []string) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		vlog.Warningf("helper reaper not started: %v; helpers still die with us, what they start might not", err)
		return nil
	}
	go func() {
		defer r.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin = r
		// Stdout and stderr stay /dev/null: the kubelet reads ours to EOF,
		// and the reaper outlives us for a moment.
		cmd.Env = []string{}
		// Its own process group: a terminal's ^C for a person's command
		// reaches us and not the reaper, which then does its work.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			vlog.Warningf("helper reaper not started: %v; helpers still die with us, what they start might not", err)
			return
		}
		// Never waited for: it exits after us, when the pipe closes.
		_ = cmd.Process.Release()
	}()
	return w
}

// Reap is the reaper: it reads "+PGID" and "-PGID" lines from in until EOF,
// then kills every process group added and not removed, and returns the
// exit code. Signals that a terminal or a service manager sends are
// ignored: only the end of the pipe ends it.
func Reap(in io.Reader) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	killGroups(openGroups(in))
	return 0
}

// openGroups reads the reaper's lines until EOF and returns the groups
// added and not removed. Anything else is ignored, and so are groups 0 and
// 1: a kill of -1 would reach every process we may signal.
func openGroups(in io.Reader) map[int]bool {
	open := map[int]bool{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 {
			continue
		}
		switch line[0] {
		case '+':
			open[pgid] = true
		case '-':
			delete(open, pgid)
		}
	}
	return open
}

func killGroups(groups map[int]bool) {
	for pgid := range groups {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
