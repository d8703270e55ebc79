package credhelper

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"
)

const secret = "s3cr3t-Pa55w0rd"

// Every outcome of a get, through the client library, with the helper's
// behaviour faked.
func TestGetOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     reply
		wantUser  string
		wantFound bool
		wantErr   string // substring; "" = no error
	}{
		{name: "found", reply: cred("alice", secret), wantUser: "alice", wantFound: true},
		{name: "not found", reply: notFound()},
		{name: "not found without newline", reply: reply{out: "credentials not found in native keychain", err: errExit1}},
		{name: "empty credential", reply: cred("", "")},
		{name: "identity token", reply: cred("<token>", secret), wantUser: "<token>", wantFound: true},
		{name: "crash with message", reply: reply{out: "error reading store: permission denied\n", err: errExit1},
			wantErr: `docker-credential-fake get: exit status 1: "error reading store: permission denied"`},
		{name: "crash with a long message", reply: reply{out: strings.Repeat("no store ", 60), err: errExit1},
			wantErr: `exit status 1: "` + strings.Repeat("no store ", 60)[:maxMessage] + `..."`},
		{name: "crash quoting the secret", reply: reply{out: "cannot unlock keyring with passphrase '" + secret + "'\n", err: errExit1},
			wantErr: `exit status 1: "cannot unlock keyring with passphrase '<redacted>'"`},
		{name: "crash with multi-line output", reply: reply{out: "panic: oops\n" + secret + "\n", err: errExit1},
			wantErr: "docker-credential-fake get: exit status 1"},
		{name: "crash after printing the credential", reply: reply{out: cred("alice", secret).out, err: errExit1},
			wantErr: "docker-credential-fake get: exit status 1"},
		{name: "crash with message on stderr", reply: reply{err: &ExitError{Status: "exit status 2", Message: "no dbus"}},
			wantErr: `docker-credential-fake get: exit status 2: "no dbus"`},
		{name: "hang", reply: reply{out: secret, err: &TimeoutError{After: 10 * time.Second}},
			wantErr: "docker-credential-fake get: timed out after 10s"},
		{name: "missing binary", reply: reply{err: &exec.Error{Name: "docker-credential-fake", Err: exec.ErrNotFound}},
			wantErr: "docker-credential-fake get: docker-credential-fake not found in PATH"},
		{name: "megabytes", reply: reply{err: ErrOutputTooLarge},
			wantErr: "docker-credential-fake get: printed more than 1024 KiB"},
		{name: "garbage", reply: reply{out: "Username=" + secret},
			wantErr: "docker-credential-fake get: output is not what the helper protocol expects: not valid JSON"},
		{name: "wrong type", reply: reply{out: `{"Username":"u","Secret":["` + secret + `"]}`},
			wantErr: `field "Secret" must be a string, not array`},
		{name: "truncated", reply: reply{out: `{"Username":"u","Secret":"` + secret},
			wantErr: "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{get: map[string]reply{"reg.io": tc.reply}}
			h := &Helper{Name: "fake", Program: f.program}
			user, pass, found, err := h.Get(context.Background(), "reg.io")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want %q", err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "docker-credential-fake get: ") {
					t.Errorf("error does not name the helper: %v", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks the secret: %v", err)
				}
			}
			if found != tc.wantFound || user != tc.wantUser {
				t.Errorf("got %q found=%v; want %q found=%v", user, found, tc.wantUser, tc.wantFound)
			}
			if found && pass != secret {
				t.Errorf("secret = %q", pass)
			}
		})
	}
}

func TestList(t *testing.T) {
	f := &fake{list: &reply{out: `{"https://index.docker.io/v1/":"hub","quay.io":"q"}`}}
	h := &Helper{Name: "fake", Program: f.program}
	got, err := h.List(context.Background())
	if err != nil || len(got) != 2 || got["quay.io"] != "q" {
		t.Errorf("List = %v, %v", got, err)
	}
	f.list = &reply{out: "not json " + secret}
	if _, err := h.List(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "docker-credential-fake list: ") || strings.Contains(err.Error(), secret) {
		t.Errorf("List(garbage) error = %v", err)
	}
	f.list = &reply{out: "list is not implemented\n", err: errExit1}
	if _, err := h.List(context.Background()); err == nil || err.Error() != `docker-credential-fake list: exit status 1: "list is not implemented"` {
		t.Errorf("List(failing) error = %v", err)
	}
}

func TestHelperName(t *testing.T) {
	for _, name := range []string{"", "../bin/sh", "a b", "x\n"} {
		h := &Helper{Name: name, Program: func(...string) client.Program { t.Fatal("ran"); return nil }}
		if _, _, _, err := h.Get(context.Background(), "r.io"); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func TestUsable(t *testing.T) {
	if ok, why := Usable("<token>", "x"); ok || !strings.Contains(why, "identity token") {
		t.Errorf("<token> usable: %v %q", ok, why)
	}
	if ok, _ := Usable("u", "p"); !ok {
		t.Error("u/p not usable")
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"  msg \n":     "msg",
		"a\nb":         "",
		"a\x1bb":       "",
		"{\"x\":1}":    "",
		"\xff\xfe":     "",
		"":             "",
		"é" + "xxxxxx": "éxxxxxx",
	} {
		if got := oneLine([]byte(in)); got != want {
			t.Errorf("oneLine(%q) = %q; want %q", in, got, want)
		}
	}
	long := strings.Repeat("é ", 100) // 300 bytes; the cut must not split a rune
	if got := oneLine([]byte(long)); !strings.HasSuffix(got, "...") || strings.ContainsRune(got, '\uFFFD') || len(got) > maxMessage+3 {
		t.Errorf("oneLine(long) = %q", got)
	}
}

func TestRedactTokens(t *testing.T) {
	for in, want := range map[string]string{
		"credentials not found in native keychain":       "credentials not found in native keychain",
		"gpg: decryption failed: No secret key":          "gpg: decryption failed: No secret key",
		"name org.freedesktop.secrets was not provided":  "name org.freedesktop.secrets was not provided",
		"bad passphrase hunter22 for alice":              "bad passphrase <redacted> for alice",
		"token 'eyJhbGciOiJIUzI1NiJ9.e30.sig' expired":   "token '<redacted>' expired",
		"password=correcthorsebatterystaple rejected":    "<redacted> rejected",
		"cannot reach https://registry.example.com:5000": "cannot reach https://registry.example.com:5000",
		"exit status 1 (code 0x80070005)":                "exit status 1 (code <redacted>)",
		"user 12345678 not allowed":                      "user 12345678 not allowed",
	} {
		if got := redactTokens(in); got != want {
			t.Errorf("redactTokens(%q) = %q, want %q", in, got, want)
		}
	}
}
