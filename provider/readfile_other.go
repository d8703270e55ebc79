//go:build !unix

package provider

// Elsewhere there are no FIFOs to block on at open.
const nonBlock = 0
