package pullsecret

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Redacted stands for a password in inspect's output. It does not reveal the
// password's length.
const Redacted = "<redacted>"

// WriteReports prints reports for people, one block per Secret or config.
// Passwords are shown only with showSecrets; usernames, servers and emails
// always, as kubectl describe does not hide them either.
func WriteReports(w io.Writer, reports []Report, showSecrets bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if r.Kind == "Secret" {
			fmt.Fprintf(tw, "Secret %s\n", orNone(r.Name, "(no name)"))
			fmt.Fprintf(tw, "  namespace\t%s\n", orNone(r.Namespace, "(not set: the namespace kubectl applies it to)"))
			fmt.Fprintf(tw, "  type\t%s\n", displayType(r.Type))
		} else {
			fmt.Fprintf(tw, "docker config\n")
		}
		for _, e := range r.Entries {
			if e.Unusable != "" {
				fmt.Fprintf(tw, "  registry\t%s\tunusable: %s\n", printable(e.Server), e.Unusable)
				continue
			}
			pw := Redacted
			if showSecrets {
				pw = e.Password
			}
			line := fmt.Sprintf("  registry\t%s\tusername %s\tpassword %s", printable(e.Server), printable(e.Username), printable(pw))
			if e.Email != "" {
				line += "\temail " + printable(e.Email)
			}
			fmt.Fprintln(tw, line)
		}
		if len(r.Entries) == 0 {
			fmt.Fprintf(tw, "  registry\t(none)\n")
		}
		for _, p := range r.Problems {
			fmt.Fprintf(tw, "  PROBLEM\t%s\n", p)
		}
	}
	return tw.Flush()
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return printable(s)
}

// printable keeps a hostile value from moving the cursor or faking lines on
// the reader's terminal.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return s
	}
	return fmt.Sprintf("%q", s)
}
