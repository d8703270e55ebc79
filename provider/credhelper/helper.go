package credhelper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// DefaultTimeout bounds one helper call when Helper.Timeout is zero. The
// kubelet gives the whole plugin run a minute; a healthy helper answers in
// milliseconds, a keyring that prompts for a password never does.
const DefaultTimeout = 10 * time.Second

// MaxOutput bounds what we read of a helper's stdout. A credential is a few
// kilobytes at most.
const MaxOutput = 1 << 20

// IdentityTokenUsername is the username by which a helper says its secret is
// an identity token (an OAuth refresh token), not a password. The kubelet's
// username/password answer cannot carry one.
const IdentityTokenUsername = "<token>"

// maxMessage bounds how much of a failing helper's own error message we
// repeat.
const maxMessage = 120

// Helper is one docker credential helper, docker-credential-<Name>.
type Helper struct {
	// Name is the suffix after docker-credential-, as written in credsStore
	// and credHelpers.
	Name string
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration
	// Env holds variables added to the helper's environment, which otherwise
	// holds only a few of ours (see Exec): e.g. GNUPGHOME and
	// PASSWORD_STORE_DIR for pass, DBUS_SESSION_BUS_ADDRESS for
	// secretservice.
	Env map[string]string
	// Program runs the helper; nil execs the real binary (Exec). Tests
	// inject fakes.
	Program client.ProgramFunc
	// Caching, when set, keeps answers in the node-local cache.
	Caching *Caching

	// broken remembers that the helper hung, is missing or flooded its
	// output: later calls on this Helper fail at once, so that one bad
	// helper costs a run its timeout once, not once per key or file.
	broken atomic.Pointer[helperError]
}

// Command is the helper's program name, which also names it in errors.
func (h *Helper) Command() string { return "docker-credential-" + h.Name }

func (h *Helper) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

func (h *Helper) program(ctx context.Context, action string) (client.ProgramFunc, error) {
	if b := h.broken.Load(); b != nil {
		return nil, &helperError{fmt.Sprintf("%s %s: not run again (%s)", h.Command(), action, b.msg), b.cause}
	}
	if err := provider.CheckHelperName(h.Name); err != nil {
		return nil, fmt.Errorf("credential helper: %w", err)
	}
	if h.Program != nil {
		return h.Program, nil
	}
	return Exec(ctx, h.Command(), h.timeout(), h.Env), nil
}

// Get asks the helper for the credential it holds under serverURL, which
// must be spelled exactly as it was stored. A helper's "credentials not
// found" answer, and an empty credential, are found == false with no error.
// username may be IdentityTokenUsername; see Usable.
func (h *Helper) Get(ctx context.Context, serverURL string) (username, secret string, found bool, err error) {
	v, err := h.cached(ctx, "get", serverURL, func() ([]byte, time.Duration, error) {
		user, secret, found, err := h.get(ctx, serverURL)
		if err != nil || !found {
			return nil, 0, err
		}
		ttl := time.Duration(0)
		if h.Caching != nil {
			ttl = h.Caching.TTL
		}
		v, _ := json.Marshal(storedCredential{Username: user, Secret: secret})
		return v, lifetime(secret, ttl, time.Now()), nil
	})
	if err != nil || len(v) == 0 {
		return "", "", false, err
	}
	s, err := decodeStored(v)
	if err != nil {
		// The cache checks its entries; should one still not decode, the
		// helper is the authority, not a reason to fail the pull.
		return h.get(ctx, serverURL)
	}
	return s.Username, s.Secret, true, nil
}

// get asks the helper itself.
func (h *Helper) get(ctx context.Context, serverURL string) (username, secret string, found bool, err error) {
	prog, err := h.program(ctx, credentials.ActionGet)
	if err != nil {
		return "", "", false, err
	}
	rec := &recorder{inner: prog}
	creds, err := client.Get(rec.run, serverURL)
	if err != nil {
		if credentials.IsErrCredentialsNotFound(err) {
			return "", "", false, nil
		}
		return "", "", false, h.fail(credentials.ActionGet, rec, err)
	}
	if creds.Username == "" && creds.Secret == "" {
		return "", "", false, nil
	}
	return creds.Username, creds.Secret, true, nil
}

// List returns the helper's server URLs and usernames, through the cache.
func (h *Helper) List(ctx context.Context) (map[string]string, error) {
	v, err := h.cached(ctx, "list", "", func() ([]byte, time.Duration, error) {
		m, err := h.list(ctx)
		if err != nil || len(m) == 0 {
			return nil, 0, err
		}
		v, _ := json.Marshal(m)
		ttl := time.Duration(0)
		if h.Caching != nil {
			ttl = h.Caching.TTL
		}
		return v, ttl, nil
	})
	if err != nil || len(v) == 0 {
		return map[string]string{}, err
	}
	var m map[string]string
	if json.Unmarshal(v, &m) != nil {
		return h.list(ctx) // as in Get
	}
	return m, nil
}

func (h *Helper) list(ctx context.Context) (map[string]string, error) {
	prog, err := h.program(ctx, credentials.ActionList)
	if err != nil {
		return nil, err
	}
	rec := &recorder{inner: prog}
	m, err := client.List(rec.run)
	if err != nil {
		return nil, h.fail(credentials.ActionList, rec, err)
	}
	return m, nil
}

func (h *Helper) fail(action string, rec *recorder, libErr error) error {
	err := h.describe(action, rec, libErr)
	var he *helperError
	if failedToRun(err) && errors.As(err, &he) {
		h.broken.CompareAndSwap(nil, he)
	}
	return err
}

// Usable says whether a credential from a helper can go into the kubelet's
// username/password answer, and if not, why.
func Usable(username, secret string) (ok bool, why string) {
	switch {
	case username == IdentityTokenUsername:
		return false, "the helper holds an identity token, which the kubelet's username/password answer cannot carry"
	case username == "" && secret == "":
		return false, "the helper returned an empty credential"
	}
	return true, ""
}

// recorder keeps what the program returned, so that errors can be described
// by what happened rather than by the client library's message, which quotes
// the helper's output.
type recorder struct {
	inner client.ProgramFunc
	out   []byte
	err   error
	ran   bool
}

func (r *recorder) run(args ...string) client.Program {
	return &recordedProgram{rec: r, inner: r.inner(args...)}
}

type recordedProgram struct {
	rec   *recorder
	inner client.Program
}

func (p *recordedProgram) Input(in io.Reader) { p.inner.Input(in) }

func (p *recordedProgram) Output() ([]byte, error) {
	out, err := p.inner.Output()
	p.rec.out, p.rec.err, p.rec.ran = out, err, true
	return out, err
}
