package credhelper

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/node-credential-provider/node-credential-provider/provider"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
)

// TimeoutError is returned by Exec's programs when a helper did not finish
// in time.
type TimeoutError struct {
	After time.Duration
	// RunDeadline is set when the run's deadline came first: the call was
	// cut short before its own timeout.
	RunDeadline bool
}

func (e *TimeoutError) Error() string {
	if e.RunDeadline {
		return "cut short at the run's deadline (--deadline)"
	}
	return fmt.Sprintf("timed out after %s", e.After)
}

// Unwrap is provider.ErrCutShort when the run's deadline came first.
func (e *TimeoutError) Unwrap() error {
	if e.RunDeadline {
		return provider.ErrCutShort
	}
	return nil
}

// ErrOutputTooLarge is returned by Exec's programs when a helper printed
// more than MaxOutput bytes. (errors.New, not fmt.Errorf: a package-level
// Errorf runs fmt on every start.)
var ErrOutputTooLarge = errors.New("printed more than " + strconv.Itoa(MaxOutput>>10) + " KiB")

// ExitError is returned by Exec's programs when a helper failed. Message is
// the helper's own one-line error from stderr, already shortened, or empty.
type ExitError struct {
	Status  string // "exit status 1", "signal: killed"
	Message string
}

func (e *ExitError) Error() string { return e.Status }

// helperError is a described failure; it unwraps to the cause so callers
// can tell a timeout or a missing binary from a helper that said no.
type helperError struct {
	msg   string
	cause error
}

func (e *helperError) Error() string { return e.msg }
func (e *helperError) Unwrap() error { return e.cause }

// describe turns a failed call into an error that names the helper and the
// action and says what went wrong, without ever repeating what the helper
// printed on a success path.
func (h *Helper) describe(action string, rec *recorder, libErr error) error {
	prefix := h.Command() + " " + action + ": "
	if !rec.ran || rec.err == nil {
		// The program succeeded and the client could not decode what it
		// printed: say where it is wrong, not what it said.
		return &helperError{prefix + "output is not what the helper protocol expects: " + provider.DescribeJSONError(libErr).Error(), libErr}
	}
	var te *TimeoutError
	var ee *ExitError
	var xe *exec.ExitError
	msg := ""
	switch {
	case errors.As(rec.err, &te):
		msg = te.Error()
	case errors.Is(rec.err, exec.ErrNotFound):
		msg = h.Command() + " not found in PATH"
	case errors.Is(rec.err, ErrOutputTooLarge):
		msg = ErrOutputTooLarge.Error()
	case errors.As(rec.err, &ee):
		// A failing helper prints its error on stdout (the protocol) or,
		// when it crashes, on stderr.
		m := oneLine(rec.out)
		if m == "" {
			m = ee.Message
		}
		msg = withMessage(ee.Status, m)
	case errors.As(rec.err, &xe):
		msg = withMessage(xe.ProcessState.String(), oneLine(rec.out))
	default:
		msg = withMessage(rec.err.Error(), oneLine(rec.out))
	}
	return &helperError{prefix + msg, rec.err}
}

// redacted stands for a word of a helper's message that may be a secret.
const redacted = "<redacted>"

// redactTokens replaces the words of a failing helper's message that look
// like secrets. Helpers are written by many hands, and some repeat what they
// could not use ("cannot unlock with passphrase X"). What a secret looks
// like cannot be known; this errs towards hiding: a word of 8 or more
// characters that mixes letters and digits (passwords, tokens, hex and
// base64), or one of 20 or more without the '.', '-' or '_' that join the
// parts of names. Words such as "keychain", "gpg:",
// "org.freedesktop.secrets" and URLs stay readable.
func redactTokens(s string) string {
	words := strings.Split(s, " ")
	changed := false
	for i, w := range words {
		core := strings.Trim(w, "\"'`()[]{}<>,;:.!?")
		if looksSecret(core) {
			words[i] = strings.Replace(w, core, redacted, 1)
			changed = true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(words, " ")
}

func looksSecret(w string) bool {
	if strings.Contains(w, "://") {
		return false
	}
	if utf8.RuneCountInString(w) >= 20 && !strings.ContainsAny(w, ".-_") {
		return true
	}
	if len(w) < 8 {
		return false
	}
	letter, digit := false, false
	for _, r := range w {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	return letter && digit
}

func withMessage(status, msg string) string {
	if msg == "" {
		return status
	}
	return fmt.Sprintf("%s: %q", status, msg)
}

// failedToRun reports errors after which asking the same helper again in
// this run is pointless: it hung, is not installed, or floods its output.
func failedToRun(err error) bool {
	var te *TimeoutError
	return errors.As(err, &te) || errors.Is(err, exec.ErrNotFound) || errors.Is(err, ErrOutputTooLarge)
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
	return shorten.Mark(redactTokens(s), maxMessage)
}
