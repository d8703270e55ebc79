//go:build unix

package provider

import "syscall"

const nonBlock = syscall.O_NONBLOCK
