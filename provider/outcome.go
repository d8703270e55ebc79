package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
)

// Exit codes of plugin mode. explain reports them and exits with them.
const (
	// ExitAnswered: a CredentialProviderResponse is on stdout, possibly with
	// no credentials in it.
	ExitAnswered = 0
	// ExitFailed: nothing on stdout and one line on stderr. The kubelet logs
	// the line and pulls without our credentials, as for an empty answer,
	// and caches nothing.
	ExitFailed = 1
)

// Outcome is what an answer means for the run that asked for it. Decide
// makes it, and every command that tells what plugin mode does (plugin mode
// itself, explain, export-secret) takes it from there, so that they cannot
// disagree.
type Outcome struct {
	// Code is ExitAnswered or ExitFailed.
	Code int
	// Error is the one line plugin mode prints on stderr when Code is
	// ExitFailed, "" otherwise. Never secret.
	Error string
	// Warnings are the sources that failed while another one answered:
	// plugin mode logs each as a warning. Never secret.
	Warnings []string
	// Notes are decisions an operator asked for that shaped an answer (a
	// source this request may not use): plugin mode logs each at the default
	// verbosity. Never secret.
	Notes []string
}

// Failed reports whether the run fails: nothing is written to stdout.
func (o Outcome) Failed() bool { return o.Code != ExitAnswered }

// Failure is the outcome of a run that ends with err before or instead of
// an answer.
func Failure(err error) Outcome {
	return Outcome{Code: ExitFailed, Error: OneLine(err)}
}

// deniedPrefix starts the note of a source a request may not use (Denied).
const deniedPrefix = "not allowed: "

// Decide turns an answer into its outcome:
//   - no credential, and some source withheld one from this request: fail
//     with the rules that withheld it (the pod learns why it pulled
//     anonymously; the credential never leaves the plugin);
//   - no credential, and some source failed: fail with the failures (the
//     kubelet's log says which file and why, not a bare 401);
//   - a credential whose password is token, the request's own
//     service-account token: fail (the kubelet would reject the answer, and
//     the source is misconfigured);
//   - otherwise answer, with the credentials or with none.
//
// token is the request's service-account token, "" when it carried none
// or it is not known (explain for a namespace and service account).
func Decide(a *Answer, token string) Outcome {
	if len(a.Credentials) == 0 {
		if w := a.Withheld(); len(w) > 0 {
			return Failure(fmt.Errorf("no credentials for %s for this pod: %s", a.Image, strings.Join(w, "; ")))
		}
		if errs := a.Errors(); len(errs) > 0 {
			return Failure(fmt.Errorf("no credentials for %s, and %s", a.Image, OneLine(errors.Join(errs...))))
		}
	}
	if token != "" {
		for _, c := range a.Credentials {
			if c.Password == token {
				return Failure(fmt.Errorf("refusing to answer %s: the credential for %q is the pod's own service-account token", a.Image, c.Key))
			}
		}
	}
	var o Outcome
	for _, s := range a.Steps {
		if s.Err != nil {
			// Only reached with credentials: without, the failure is the
			// outcome.
			o.Warnings = append(o.Warnings, OneLine(s.Err))
		}
		for _, n := range s.Result.Notes {
			if strings.HasPrefix(n, deniedPrefix) {
				o.Notes = append(o.Notes, s.Source+": "+n)
			}
		}
	}
	return o
}

// MaxErrorLine bounds the error line we print. Messages quote short parts
// of their input; this is the last guard against one that quotes a
// megabyte into the kubelet's log.
const MaxErrorLine = 4 << 10

// OneLine flattens an error, joined errors included, onto one line of at
// most MaxErrorLine bytes: the kubelet shows a plugin's stderr in one log
// entry.
func OneLine(err error) string {
	return shorten.Mark(strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " "), MaxErrorLine-len("..."))
}
