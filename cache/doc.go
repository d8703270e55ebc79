// Package cache is a node-local credential cache shared by the plugin
// processes the kubelet starts, one per image pull, all at once.
//
// The kubelet's own single-flight is per image, so a burst of pods with
// different images on one registry runs the plugin once per image. With a
// credential helper behind it (a gpg decrypt, a keychain call) that is one
// helper call per image. [Cache.Do] turns it into one call per key: the first
// process to miss takes a per-key lock and fetches; the others wait for the
// lock, then find the answer stored.
//
// # Where entries live
//
// Each entry is a "user" key in the Linux kernel key retention service, in a
// keyring of our own named "node-credential-provider:sealed:" plus the
// absolute cache directory, linked into the user keyring (@u) of the
// caller's uid (root for the kubelet). Kernel key payloads are kernel memory:
// never swapped, gone at reboot, and dropped by the kernel at their timeout.
//
// @u is the keyring every process of the uid can reach. A session keyring
// would not do: systemd gives each service its own (KeyringMode=private), and
// the kubelet's children inherit the kubelet's. Because no plugin process
// possesses the keys it reads, each key grants the user (uid) bits as well as
// the possessor bits; group and others get nothing.
//
// Every payload is sealed: AES-256-GCM with a random nonce, the entry's name
// as additional data (seal.go). The 32-byte key is the file cache.key in the
// cache directory, on the host's disk. It is made once, on the first store:
// written and synced under a temporary name, then link()ed to its name, which
// unlike rename never replaces, so of concurrent first creators one wins and
// all seal with its key. Before every use it is checked as ssh checks a
// private key: not a symbolic link, a regular file owned by the caller, no
// permission for group or others, exactly 32 bytes. One lstat does it; the
// key is read again when the file's inode or change time moves.
//
// # Who can read what
//
// The reason for the split: the kernel's key service is namespaced by user
// namespace, not by mount namespace. A container that runs as uid 0 in the
// host's user namespace (a pod by default: the kubelet runs pods with seccomp
// Unconfined unless seccompDefault is on, and many images run as root)
// reaches root's @u like any root process. It cannot reach a file on the
// host's disk that is not mounted into it.
//
//   - Root on the host (host mount namespace): reads the key and the keyring,
//     so every cached answer; it can read the stores they came from as well.
//   - Other uids on the host, and pods running as one: nothing. The
//     directory is 0700, the key 0600, and keys grant nothing to other uids
//     (each uid has its own @u).
//   - A pod as uid 0 in the host user namespace, no seccomp, no host mounts:
//     lists the keyring and reads the sealed payloads, their sizes and
//     timeouts, and entry names (a hash of helper, action and registry: it
//     can confirm a guessed registry name, nothing more). It cannot open a
//     payload nor forge one. It can delete or damage entries, which costs a
//     helper call (a miss), or put back a payload it copied earlier under
//     the same name: that holds an answer that was valid for the same source
//     and is served only until its own expiry, and not at all once the source
//     changed (the fingerprint is inside the seal).
//   - A pod under the RuntimeDefault seccomp profile (keyctl is blocked) or in
//     its own user namespace (hostUsers: false): nothing at all.
//   - A pod that can read the cache directory (a hostPath of it or of
//     /var/lib), or is privileged in the host's mount namespace: everything,
//     as root on the host; such a pod can read the stores too
//     (/var/lib/kubelet, /root, a pass store and its gpg key).
//   - After a reboot: the keyring is gone; the key file on disk opens nothing.
//     The first store seals with it again.
//   - A stolen disk: the key and empty lock files; the sealed entries were
//     never on it. (Hibernation, which writes kernel memory to swap, and a
//     kernel crash dump, which holds the keyring and the page cache, are the
//     exceptions: both hold what root on the host holds.)
//
// Deleting cache.key makes every entry a miss: the next store makes a new
// key. Deleting the directory does the same.
//
// The design measured before this one kept plain values in the keyring
// (2.6 µs and 4 allocations a hit on a 2-core VM, by the benchmarks of this
// package) and trusted "same uid, same user namespace" to mean "root on the
// host", which a pod breaks. Sealing adds an lstat of the key file and an
// AES-GCM open per hit (BenchmarkSealCost); the numbers are in the README.
//
// # Writing an entry
//
// An entry is built in the writing process's own keyring (which dies with the
// process), given owner-only permissions and its timeout, and only then linked
// into the shared keyring. Linking displaces the previous key of the same
// name in one step, so a reader sees the old entry or the new one, and a
// process killed at any point leaves nothing another process can misread.
//
// Entries are named by a hash of the key. The sealed plaintext carries the
// key, the fingerprint, creation and expiry times and a kind (value, empty
// lookup, failure). Anything that does not open with the key (another key, a
// byte changed, a payload moved from another name, an entry of an older
// version), does not decode exactly, names another key, has another
// fingerprint, has expired, or claims to be created in the future (a clock
// that went back) is a miss, and the fetch that follows replaces it.
//
// # Lifetimes
//
// An entry is served until the TTL its fetch returned, to the nanosecond; the
// kernel timeout is that TTL rounded down to whole seconds, so the kernel never
// keeps it longer. A TTL under a second is not stored. Failed and empty
// fetches are remembered for Options.NegativeTTL (5s by default), so a
// credential added to its source works within seconds. Do returns the
// remaining lifetime so the caller can cap the cacheDuration it suggests.
//
// # On disk
//
// Options.Dir (default /var/lib/node-credential-provider/cache) holds the key
// file and empty lock files: one per key, and one that serializes making the
// shared keyring. The directory is made 0700 and must belong to the caller;
// lock files are 0600 and opened without following symlinks. flock locks die
// with their holder, so a killed fetcher never blocks the others beyond its
// life. No value is ever written to disk, sealed or not.
//
// # Bounds
//
// At most Options.MaxEntries entries: a store beyond it drops expired and
// undecodable entries, then the oldest (concurrent stores may overshoot by
// their number until the next store). Idle lock files of entries that are gone
// are removed once there are more of them than entries allowed.
//
// # When it cannot cache
//
// No keyctl (EPERM under a container runtime's default seccomp profile, ENOSYS),
// an unusable directory (missing and not creatable, read-only, full, owned by
// someone else), an unfit key file (not creatable, unreadable, a symbolic
// link, not a regular file, someone else's, open to group or others, the
// wrong size), a kernel quota reached, a lock not had within
// Options.LockTimeout: Do calls fetch directly and returns its answer, and
// Options.Warn hears about it once per Cache. An unfit key file is left as
// it is, for its owner to look at, and nothing sealed with it is served.
// There is no plain-text fallback. On systems other than Linux there is no
// cache: Open returns an error.
//
// # Purging
//
// [Cache.Purge] removes entries by key, [Cache.List] shows them without values.
// From a shell, as root: keyctl search @u keyring
// node-credential-provider:sealed:/var/lib/node-credential-provider/cache
// prints the keyring's id for keyctl show, keyctl clear, or keyctl unlink ID
// @u. A reboot empties the cache. Versions before sealing used the keyring
// name without "sealed:" and kept values in plain text there; making the
// sealed keyring destroys that one.
package cache
