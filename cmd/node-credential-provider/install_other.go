//go:build !linux

package main

import (
	"fmt"
	"io"
	"runtime"
)

// runInstall: install and uninstall edit a Linux node's kubelet (its /proc,
// flag files, systemd units); elsewhere they only say so.
func runInstall(cmd string, _ []string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s %s: runs on Linux nodes only, not %s; on Windows copy the binary and edit the kubelet's flags by hand (README, Windows nodes)\n", name, cmd, runtime.GOOS)
	return exitError
}
