package provider

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	const token = "hdr.payload.sig"
	broken := Step{Source: "broken", Err: errors.New("broken: not valid JSON\n(syntax error at byte 3)")}
	denied := Step{Source: "team-a", Result: Result{Notes: []string{"not allowed: namespace \"b\" is not in allow.namespaces [a]"}, Withheld: "namespace \"b\" is not in allow.namespaces [a]"}}
	deniedEmpty := Step{Source: "team-a", Result: Result{Notes: []string{"not allowed: namespace \"b\" is not in allow.namespaces [a]"}}}
	answers := Step{Source: "file", Result: Result{Credentials: creds("r.io"), Notes: []string{"r.io matches"}}}
	for _, tc := range []struct {
		name  string
		ans   Answer
		token string
		want  Outcome
	}{
		{"answered", Answer{Image: "r.io/a", Credentials: creds("r.io"), Steps: []Step{answers}}, "", Outcome{}},
		{"empty answer", Answer{Image: "r.io/a", Steps: []Step{{Source: "file"}}}, "", Outcome{}},
		{"no sources", Answer{Image: "r.io/a"}, "", Outcome{}},
		{"withheld", Answer{Image: "r.io/a", Steps: []Step{denied}}, "", Outcome{Code: ExitFailed,
			Error: `no credentials for r.io/a for this pod: team-a: namespace "b" is not in allow.namespaces [a]`}},
		{"withheld wins over a failure", Answer{Image: "r.io/a", Steps: []Step{broken, denied}}, "", Outcome{Code: ExitFailed,
			Error: `no credentials for r.io/a for this pod: team-a: namespace "b" is not in allow.namespaces [a]`}},
		{"failed source, no credential", Answer{Image: "r.io/a", Steps: []Step{broken}}, "", Outcome{Code: ExitFailed,
			Error: "no credentials for r.io/a, and broken: not valid JSON; (syntax error at byte 3)"}},
		{"failed source, another answers", Answer{Image: "r.io/a", Credentials: creds("r.io"), Steps: []Step{broken, answers}}, "", Outcome{
			Warnings: []string{"broken: not valid JSON; (syntax error at byte 3)"}}},
		{"denied source without a credential, empty answer", Answer{Image: "r.io/a", Steps: []Step{deniedEmpty}}, token, Outcome{
			Notes: []string{`team-a: not allowed: namespace "b" is not in allow.namespaces [a]`}}},
		{"denied source, another answers", Answer{Image: "r.io/a", Credentials: creds("r.io"), Steps: []Step{denied, answers}}, token, Outcome{
			Notes: []string{`team-a: not allowed: namespace "b" is not in allow.namespaces [a]`}}},
		{"token echoed", Answer{Image: "r.io/a", Credentials: []Credential{{Key: "r.io", Username: "u", Password: token}}}, token, Outcome{Code: ExitFailed,
			Error: `refusing to answer r.io/a: the credential for "r.io" is the pod's own service-account token`}},
		{"token unknown", Answer{Image: "r.io/a", Credentials: []Credential{{Key: "r.io", Username: "u", Password: token}}}, "", Outcome{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(&tc.ans, tc.token)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide = %#v\nwant     %#v", got, tc.want)
			}
			if got.Failed() != (tc.want.Code != ExitAnswered) {
				t.Errorf("Failed() = %v", got.Failed())
			}
			if strings.Contains(got.Error, token) || strings.Contains(got.Error, "\n") {
				t.Errorf("error line %q", got.Error)
			}
		})
	}
}

func TestDeniedNoteIsAnOutcomeNote(t *testing.T) {
	d := &Denied{SourceName: "team-a", Reason: "no", Inner: &fakeSource{name: "f"}}
	res, _ := d.Lookup(context.Background(), "r.io/a")
	a := Answer{Image: "r.io/a", Steps: []Step{{Source: d.Name(), Result: res}}}
	if o := Decide(&a, ""); len(o.Notes) != 1 || o.Notes[0] != "team-a: not allowed: no" {
		t.Errorf("%+v", o)
	}
}

func TestOneLineIsBounded(t *testing.T) {
	long := errors.New("first\nsecond " + strings.Repeat("é", MaxErrorLine))
	got := OneLine(long)
	if len(got) > MaxErrorLine || !strings.HasPrefix(got, "first; second é") || !strings.HasSuffix(got, "é...") {
		t.Errorf("OneLine = %d bytes, %.40q...%q", len(got), got, got[len(got)-8:])
	}
	if f := Failure(long); f.Code != ExitFailed || f.Error != got {
		t.Errorf("Failure = %+v", f)
	}
}
