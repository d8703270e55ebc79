//go:build linux

package install

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults of the restart.
const (
	DefaultRestartCommand = "systemctl restart kubelet"
	DefaultHealthzURL     = "http://127.0.0.1:10248/healthz"
	DefaultRestartTimeout = 2 * time.Minute
)

// healthyStreak is how many healthz answers in a row, healthzInterval
// apart, count as a kubelet that came back: one answer could come from a
// kubelet about to exit on a config it refuses.
const (
	healthyStreak   = 3
	healthzInterval = 500 * time.Millisecond
)

// hostPATH is the PATH of a restart command run in the host's root.
const hostPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Restarter restarts the kubelet and waits until it is healthy.
type Restarter struct {
	Command string // run with /bin/sh -c
	// Root is the host's / (install's --root). Other than "" or "/", the
	// command runs chrooted there: it is a host command, run with the host's
	// own shell and tools, since a container with the host at /host has
	// neither (our image holds the binary alone). That needs CAP_SYS_CHROOT.
	Root       string
	HealthzURL string
	Timeout    time.Duration // for the command and healthz together
	Log        io.Writer     // the command's output
}

// Restart runs the command and waits for healthz. The error says which of
// the two failed.
func (r *Restarter) Restart() error {
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", r.Command)
	cmd.Stdout, cmd.Stderr = r.Log, r.Log
	// The whole process group goes when the time is up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !(Host{Root: r.Root}).OnHost() {
		cmd.SysProcAttr.Chroot, cmd.Dir = r.Root, "/"
		// The container's PATH names its own image's directories; the
		// command gets the host's usual one.
		cmd.Env = append(os.Environ(), "PATH="+hostPATH)
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("restart command %q did not finish within %s", r.Command, r.Timeout)
		}
		return fmt.Errorf("restart command %q failed: %v", r.Command, err)
	}
	streak := 0
	var last string
	for {
		if err := healthz(ctx, r.HealthzURL); err == nil {
			streak++
			if streak >= healthyStreak {
				return nil
			}
		} else {
			streak, last = 0, err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the kubelet did not become healthy within %s of the restart (%s: %s)", time.Since(start).Round(time.Second), r.HealthzURL, last)
		case <-time.After(healthzInterval):
		}
	}
}

// CheckHealthzURL accepts the plain-HTTP URLs the kubelet's healthz
// serves (healthzBindAddress, healthzPort), with the host an IP address or
// localhost: exactly what healthz can ask, so that a URL it cannot ask is
// refused before anything is written or restarted.
func CheckHealthzURL(raw string) error {
	_, err := parseHealthz(raw)
	return err
}

// healthzTarget is what healthz asks: a socket address and a request URI.
type healthzTarget struct {
	addr netip.Addr
	port int
	host string // the Host header, as written
	uri  string
}

func parseHealthz(raw string) (healthzTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return healthzTarget{}, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return healthzTarget{}, fmt.Errorf("healthz URL %q: want http://HOST:PORT/PATH; the kubelet serves healthz over plain HTTP", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		host = "127.0.0.1"
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return healthzTarget{}, fmt.Errorf("healthz URL %q: want an IP address or localhost as its host", raw)
	}
	port := 80
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return healthzTarget{}, fmt.Errorf("healthz URL %q: port %q", raw, p)
		}
	}
	return healthzTarget{addr: addr, port: port, host: u.Host, uri: u.RequestURI()}, nil
}

// healthz asks the kubelet's healthz once, within ctx's deadline and at most
// 2 s. It speaks just enough HTTP/1.1 for that over a socket of its own:
// net's dialer (with its resolver) would add 380 KB to a binary that the
// kubelet starts on every image pull, and the kubelet's healthz is plain
// HTTP on an address, loopback by default.
func healthz(ctx context.Context, raw string) error {
	t, err := parseHealthz(raw)
	if err != nil {
		return err
	}
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	conn, err := dialTCP(t.addr, t.port, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: node-credential-provider-install\r\n\r\n", t.uri, t.host)
	if _, err := io.WriteString(conn, req); err != nil {
		return err
	}
	// Each read is bounded by the socket's timeout; the probe as a whole by
	// its own deadline, so a server that drips a byte at a time cannot hold it.
	r := &deadlineReader{r: io.LimitReader(conn, 4096), deadline: time.Now().Add(timeout)}
	status, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	status = strings.TrimSpace(status)
	if f := strings.Fields(status); len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || f[1] != "200" {
		return fmt.Errorf("answered %q", status)
	}
	return nil
}

// deadlineReader fails a read that starts after its deadline.
type deadlineReader struct {
	r        io.Reader
	deadline time.Time
}

func (d *deadlineReader) Read(b []byte) (int, error) {
	if time.Now().After(d.deadline) {
		return 0, os.ErrDeadlineExceeded
	}
	return d.r.Read(b)
}

// dialTCP connects to addr and port, every step bounded by timeout.
func dialTCP(addr netip.Addr, port int, timeout time.Duration) (*os.File, error) {
	family, sa := syscall.AF_INET, syscall.Sockaddr(nil)
	if addr.Is4() {
		sa = &syscall.SockaddrInet4{Port: port, Addr: addr.As4()}
	} else {
		family, sa = syscall.AF_INET6, &syscall.SockaddrInet6{Port: port, Addr: addr.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	for _, opt := range []int{syscall.SO_SNDTIMEO, syscall.SO_RCVTIMEO} {
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
			syscall.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	// On Linux SO_SNDTIMEO bounds connect too.
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("connecting to %s: %w", netip.AddrPortFrom(addr, uint16(port)), err)
	}
	return os.NewFile(uintptr(fd), "healthz"), nil
}
