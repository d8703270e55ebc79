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
// Values are credentials, so they never touch a disk, not even encrypted.
// Each entry is a "user" key in the Linux kernel key retention service, in a
// keyring of our own named "node-credential-provider:" plus the absolute
// cache directory, linked into the user keyring (@u) of the caller's uid
// (root for the kubelet). Kernel key payloads are kernel memory: never
// swapped, gone at reboot, and dropped by the kernel at their timeout.
//
// @u is the keyring every process of the uid can reach. A session keyring
// would not do: systemd gives each service its own (KeyringMode=private), and
// the kubelet's children inherit the kubelet's. Because no plugin process
// possesses the keys it reads, each key grants the user (uid) bits as well as
// the possessor bits; group and others get nothing. Any process running as
// the same uid in the same user namespace can read an entry, which is the
// same reach a root-owned 0600 file has.
//
// The other design, an AES-GCM key in the keyring and encrypted value files
// on disk, was measured and rejected: a hit cost 7.1 µs and 13 allocations
// against 2.6 µs and 4 for reading the value from the keyring (2-core VM),
// and it needs files written atomically, a crash story for them, and cleanup
// of files no key can decrypt after a reboot. Both are noise next to the
// ~1.5 ms a process costs; the difference is in what can go wrong.
//
// # Writing an entry
//
// An entry is built in the writing process's own keyring (which dies with the
// process), given owner-only permissions and its timeout, and only then linked
// into the shared keyring. Linking displaces the previous key of the same
// name in one step, so a reader sees the old entry or the new one, and a
// process killed at any point leaves nothing another process can misread.
//
// Entries are named by a hash of the key. The payload carries the key, the
// fingerprint, creation and expiry times and a kind (value, empty lookup,
// failure), and ends in the first four bytes of the SHA-256 of the rest; anything that does not
// decode exactly or fails the checksum (a value damaged in place), names another key, has
// another fingerprint, has expired, or claims to be created in the future (a
// clock that went back) is a miss, and the fetch that follows replaces it.
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
// Options.Dir (default /var/lib/node-credential-provider/cache) holds only
// empty lock files: one per key, and one that serializes making the shared
// keyring. The directory is made 0700 and must belong to the caller; lock
// files are 0600 and opened without following symlinks. flock locks die with
// their holder, so a killed fetcher never blocks the others beyond its life.
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
// someone else), a kernel quota reached, a lock not had within
// Options.LockTimeout: Do calls fetch directly and returns its answer, and
// Options.Warn hears about it once per Cache. There is no plain-text
// fallback.
//
// # Purging
//
// [Cache.Purge] removes entries by key, [Cache.List] shows them without values.
// From a shell, as root: keyctl search @u keyring
// node-credential-provider:/var/lib/node-credential-provider/cache prints the
// keyring's id for keyctl show, keyctl clear, or keyctl unlink ID @u. A reboot
// empties the cache. Deleting the directory removes only lock files.
package cache
