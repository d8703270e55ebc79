package credhelper

import (
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/docker/docker-credential-helpers/client"
)

// fake is a helper's behaviour as a ProgramFunc: for each action, what it
// prints and how it exits, optionally per server URL.
type fake struct {
	mu    sync.Mutex
	get   map[string]reply // by server URL; missing = not found
	list  *reply           // nil = lists the URLs of get
	calls []string         // "get URL", "list"
}

type reply struct {
	out string
	err error
}

var errExit1 = &ExitError{Status: "exit status 1"}

func notFound() reply {
	return reply{out: "credentials not found in native keychain\n", err: errExit1}
}

func (f *fake) program(args ...string) client.Program {
	return &fakeProgram{f: f, action: args[0]}
}

type fakeProgram struct {
	f      *fake
	action string
	in     io.Reader
}

func (p *fakeProgram) Input(in io.Reader) { p.in = in }

func (p *fakeProgram) Output() ([]byte, error) {
	in, _ := io.ReadAll(p.in)
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	switch p.action {
	case "get":
		p.f.calls = append(p.f.calls, "get "+string(in))
		r, ok := p.f.get[string(in)]
		if !ok {
			r = notFound()
		}
		return []byte(r.out), r.err
	case "list":
		p.f.calls = append(p.f.calls, "list")
		if p.f.list != nil {
			return []byte(p.f.list.out), p.f.list.err
		}
		var parts []string
		for u := range p.f.get {
			parts = append(parts, `"`+u+`":"user"`)
		}
		return []byte("{" + strings.Join(parts, ",") + "}"), nil
	}
	return nil, errors.New("unexpected action")
}

func cred(user, secret string) reply {
	return reply{out: `{"ServerURL":"","Username":"` + user + `","Secret":"` + secret + `"}` + "\n"}
}
