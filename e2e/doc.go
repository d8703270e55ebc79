// Package e2e holds the end-to-end tests of node-credential-provider: a real
// kubelet pulls images from a password-protected registry through the plugin.
//
// The tests are behind the build tag e2e and need root, containerd, runc, a
// registry and a kubelet binary; e2e/run.sh installs and builds all of that.
// The harness (a standalone kubelet on this machine) lives in the files
// without "cases" in their name; the cases are written against the Cluster
// interface only, so another harness (a kind cluster, say) can run them too.
package e2e
