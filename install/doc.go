// Package install puts node-credential-provider on a node and takes it off
// again: it finds how the running kubelet is configured (its command line in
// /proc, kubeadm's and the distributions' flag files, systemd units), plans
// every file change as old and new bytes, shows the plan as a unified diff,
// and applies it with backups, atomic renames and a state file that says
// what was ours. A restart that leaves the kubelet unhealthy is rolled back.
//
// Every host path goes through a Host, so that the same code runs on the
// node (Root "/") and in a container that sees the host's filesystem under
// a folder. Nothing here is linked into the plugin's request path.
package install
