//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The operator, with a real kubelet: three credentialHelper
// sources whose helpers hang (a shell script waiting on a sleep, as a cloud
// helper stuck on a partitioned network), each allowed 25 s, then a static
// source holding the registry's credential. The plugin answers from the
// static source at its deadline (--deadline=8s here), long before the
// kubelet's 60 s kill, the pod runs, and no helper process, nor its sleep,
// is left on the node.
func caseHungHelpersStillAnswer(t *testing.T, c Cluster) {
	reg := c.Registry()
	marker := fmt.Sprintf("ncp-e2e-hung-%d", time.Now().UnixNano())
	// Each call is logged first, so that the case knows the helpers did
	// run and hang, and were not merely left out.
	calls := c.WriteFile(t, "hung/calls", nil)
	hang := "#!/bin/sh\n# Hangs like a helper waiting on an unreachable network.\necho \"$(basename \"$0\") $1\" >> " + calls + "\nsleep 300 &\nwait\n"
	var binDir string
	var cfg strings.Builder
	cfg.WriteString("apiVersion: config.node-credential-provider.io/v1alpha1\nkind: NodeCredentialProviderConfig\ncache: {disabled: true}\nhelpers:\n")
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("ncphang%d", i)
		binDir = filepath.Dir(c.InstallProvider(t, "docker-credential-"+name, writeTemp(t, "docker-credential-"+name, hang)))
		fmt.Fprintf(&cfg, "  - {name: %s, timeout: 25s, env: {NCP_E2E_MARKER: %s}}\n", name, marker)
	}
	user := c.WriteFile(t, "static/username", []byte(reg.Username()+"\n"))
	pass := c.WriteFile(t, "static/password", []byte(reg.Password()+"\n"))
	cfg.WriteString("sources:\n")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&cfg, "  - {name: hung-%d, credentialHelper: {helper: ncphang%d}}\n", i, i)
	}
	fmt.Fprintf(&cfg, "  - {name: robot, static: {usernameFile: %s, passwordFile: %s}, matchImages: [%q]}\n", user, pass, reg.Host())
	path := c.WriteFile(t, "ncp-config.yaml", []byte(cfg.String()))
	p := ourProvider(c, "--config="+path, "--deadline=8s")
	p.Env = []ExecEnvVar{{Name: "PATH", Value: binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	c.SetProviderConfig(t, SingleFile(NewProviderConfig(p)))
	image := reg.FreshImage(t, "hung-helpers")
	pod := c.RunPod(t, PodSpec{Name: "hung-helpers", Image: image})
	c.WaitPodRunning(t, pod, runTimeout)
	requirePluginAnswered(t, c, image)

	// Every hanging helper was asked: the answer came past them.
	out, err := c.RunOnNode(t, nil, nil, "cat", calls)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if !strings.Contains(out, fmt.Sprintf("docker-credential-ncphang%d ", i)) {
			t.Errorf("helper ncphang%d was never run; calls:\n%s", i, out)
		}
	}

	// No process carrying the helpers' marker outlives the runs.
	var left string
	err = WaitFor(10*time.Second, 200*time.Millisecond, func() (bool, error) {
		out, err := c.RunOnNode(t, nil, nil, "sh", "-c", "for e in /proc/[0-9]*/environ; do grep -qs "+marker+" $e && ! grep -qs '^State:.*Z' ${e%environ}status && echo ${e%/environ}; done; true")
		if err != nil {
			return false, permanent{err}
		}
		left = strings.TrimSpace(out)
		return left == "", nil
	})
	if err != nil {
		t.Errorf("helper processes outlived the plugin's runs: %s (%v)", left, err)
		_, _ = c.RunOnNode(t, nil, nil, "sh", "-c", "for e in /proc/[0-9]*/environ; do grep -qs "+marker+" $e && kill -9 $(basename ${e%/environ}); done; true")
	}
}
