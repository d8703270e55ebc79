package credhelper

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/node-credential-provider/node-credential-provider/provider"
)

// TimeoutError is returned by Exec's programs when a helper did not finish
// in time.
type TimeoutError struct{ After time.Duration }

func (e *TimeoutError) Error() string { return fmt.Sprintf("timed out after %s", e.After) }

// ErrOutputTooLarge is returned by Exec's programs when a helper printed
// more than MaxOutput bytes.
var ErrOutputTooLarge = fmt.Errorf("printed more than %d KiB", MaxOutput>>10)

// ExitError is returned by Exec's programs when a helper failed. Message is
// the helper's own one-line error from stderr, already shortened, or empty.
type ExitError struct {
	Status  string // "exit status 1", "signal: killed"
	Message string
}

func (e *ExitError) Error() string { return e.Status }

// describe turns a failed call into an error that names the helper and the
// action and says what went wrong, without ever repeating what the helper
// printed on a success path.
func (h *Helper) describe(action string, rec *recorder, libErr error) error {
	prefix := h.Command() + " " + action
	if !rec.ran || rec.err == nil {
		// The program succeeded and the client could not decode what it
		// printed: say where it is wrong, not what it said.
		return fmt.Errorf("%s: output is not what the helper protocol expects: %w", prefix, provider.DescribeJSONError(libErr))
	}
	var te *TimeoutError
	var ee *ExitError
	var xe *exec.ExitError
	switch {
	case errors.As(rec.err, &te):
		return fmt.Errorf("%s: %s", prefix, te)
	case errors.Is(rec.err, exec.ErrNotFound):
		return fmt.Errorf("%s: %s not found in PATH", prefix, h.Command())
	case errors.Is(rec.err, ErrOutputTooLarge):
		return fmt.Errorf("%s: %w", prefix, ErrOutputTooLarge)
	case errors.As(rec.err, &ee):
		// A failing helper prints its error on stdout (the protocol) or,
		// when it crashes, on stderr.
		msg := oneLine(rec.out)
		if msg == "" {
			msg = ee.Message
		}
		return withMessage(fmt.Errorf("%s: %s", prefix, ee.Status), msg)
	case errors.As(rec.err, &xe):
		return withMessage(fmt.Errorf("%s: %s", prefix, xe.ProcessState), oneLine(rec.out))
	default:
		return withMessage(fmt.Errorf("%s: %w", prefix, rec.err), oneLine(rec.out))
	}
}

func withMessage(err error, msg string) error {
	if msg == "" {
		return err
	}
	return fmt.Errorf("%w: %q", err, msg)
}

// oneLine returns a failing helper's message when it is a single line of
// text that is not JSON, shortened to maxMessage bytes; anything else (a stack trace, a dump)
// is dropped rather than risk repeating something secret.
func oneLine(out []byte) string {
	s := strings.TrimSpace(string(out))
	if s == "" || strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) {
		return ""
	}
	if s[0] == '{' || s[0] == '[' || s[0] == '"' {
		// JSON is what a helper prints on success: a credential, not a
		// message, even when the helper then exits non-zero.
		return ""
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return ""
		}
	}
	if len(s) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
