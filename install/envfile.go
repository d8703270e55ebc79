//go:build linux

package install

import (
	"bytes"
	"fmt"
	"strings"
)

// envAssign is one VAR=value line of an environment file (systemd's
// EnvironmentFile=, /etc/default/kubelet, kubeadm-flags.env).
type envAssign struct {
	Line  int // index into the file's lines
	Name  string
	Value string
	Quote byte // '"', '\'' or 0
}

// parseEnvFile reads the assignments of an environment file. It accepts
// what systemd and a shell both read: comments (# and ;), an optional
// "export ", and values that are bare or in one pair of quotes. A line
// continued with a backslash is not understood and is reported, because
// editing it could change what the kubelet reads.
func parseEnvFile(data []byte) ([]envAssign, error) {
	var out []envAssign
	for i, line := range splitLines(data) {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if strings.HasSuffix(t, `\`) {
			return nil, fmt.Errorf("line %d continues on the next line (a trailing backslash), which this installer does not edit", i+1)
		}
		t = strings.TrimPrefix(t, "export ")
		eq := strings.IndexByte(t, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("line %d is not VAR=value", i+1)
		}
		a := envAssign{Line: i, Name: strings.TrimSpace(t[:eq])}
		v := strings.TrimSpace(t[eq+1:])
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			a.Quote, v = v[0], v[1:len(v)-1]
		} else if strings.ContainsAny(v, `"'`) {
			return nil, fmt.Errorf("line %d: %s has quotes inside its value, which this installer does not edit", i+1, a.Name)
		}
		a.Value = v
		out = append(out, a)
	}
	return out, nil
}

// splitLines splits data into lines without their line ends; a final line
// end gives no empty last line.
func splitLines(data []byte) []string {
	s := string(data)
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// joinLines is the inverse of splitLines, always with a final line end.
func joinLines(lines []string) []byte {
	if len(lines) == 0 {
		return nil
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// renderAssign writes VAR="value", keeping the quote the line had.
func renderAssign(name, value string, quote byte) string {
	if quote == 0 {
		quote = '"'
	}
	return name + "=" + string(quote) + value + string(quote)
}

// addEnvArgs returns data with args appended to the value of name. The
// line is added when the file lacks it. addedLine says so.
func addEnvArgs(data []byte, name string, args []string) (out []byte, addedLine bool, err error) {
	assigns, err := parseEnvFile(data)
	if err != nil {
		return nil, false, err
	}
	lines := splitLines(data)
	var last *envAssign
	for i := range assigns {
		if assigns[i].Name == name {
			last = &assigns[i]
		}
	}
	joined := strings.Join(args, " ")
	if last == nil {
		lines = append(lines, renderAssign(name, joined, '"'))
		return joinLines(lines), true, nil
	}
	v := strings.TrimSpace(last.Value)
	if v != "" {
		v += " "
	}
	lines[last.Line] = renderAssign(name, v+joined, last.Quote)
	return joinLines(lines), false, nil
}

// removeEnvArgs returns data without args in the value of name; when
// dropLine and nothing else is left in the value, the line goes too.
func removeEnvArgs(data []byte, name string, args []string, dropLine bool) ([]byte, error) {
	assigns, err := parseEnvFile(data)
	if err != nil {
		return nil, err
	}
	lines := splitLines(data)
	remove := map[string]bool{}
	for _, a := range args {
		remove[a] = true
	}
	drop := -1
	for _, a := range assigns {
		if a.Name != name {
			continue
		}
		var kept []string
		changed := false
		for _, f := range strings.Fields(a.Value) {
			if remove[f] {
				changed = true
				continue
			}
			kept = append(kept, f)
		}
		if !changed {
			continue
		}
		if len(kept) == 0 && dropLine {
			drop = a.Line
			continue
		}
		lines[a.Line] = renderAssign(name, strings.Join(kept, " "), a.Quote)
	}
	if drop >= 0 {
		lines = append(lines[:drop], lines[drop+1:]...)
	}
	return joinLines(lines), nil
}
