package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// Entry kinds. A remembered miss or failure is kept apart from a value so that
// an empty value is never mistaken for a credential.
const (
	kindValue   byte = 1 // a credential
	kindEmpty   byte = 2 // fetch found nothing
	kindFailure byte = 3 // fetch failed; data is its error text
)

const (
	// headerSize is kind, created, expires.
	headerSize = 1 + 8 + 8
	// maxPayload is the largest payload of a "user" key (32767 bytes); a
	// bigger value is returned uncached.
	maxPayload = 32767
	// maxFailureText keeps a remembered error message short.
	maxFailureText = 1024
)

// entry is what one cache key holds, before sealing (seal.go). Key and
// fingerprint are stored inside it, not only hashed into its name, so that a
// hash collision under the same name is recognized and treated as a miss.
type entry struct {
	kind        byte
	created     time.Time
	expires     time.Time
	key         string
	fingerprint string
	data        []byte
}

// entryName is the kernel key description and lock file stem for key: fixed
// length, no separators, nothing an operator reading /proc/keys learns from.
func entryName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// encode appends the entry's plaintext to b. extra is spare capacity the
// caller needs after it (the seal's overhead), so sealing in place does not
// copy.
func (e *entry) encode(b []byte, extra int) []byte {
	if n := headerSize + 2*binary.MaxVarintLen64 + len(e.key) + len(e.fingerprint) + len(e.data) + extra; cap(b)-len(b) < n {
		b = append(make([]byte, 0, len(b)+n), b...)
	}
	b = append(b, e.kind)
	b = binary.BigEndian.AppendUint64(b, uint64(e.created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.expires.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(e.key)))
	b = append(b, e.key...)
	b = binary.AppendUvarint(b, uint64(len(e.fingerprint)))
	b = append(b, e.fingerprint...)
	return append(b, e.data...)
}

var errBadEntry = errors.New("not a cache entry of this version")

// decodeEntry parses an entry's plaintext, as opened from its seal. It is
// strict: anything that is not exactly what encode writes is a miss. (Damage
// and tampering never get this far: the seal's tag catches them.) The
// returned data aliases b.
func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) < headerSize {
		return e, errBadEntry
	}
	e.kind = b[0]
	created := int64(binary.BigEndian.Uint64(b[1:]))
	expires := int64(binary.BigEndian.Uint64(b[9:]))
	if expires <= created {
		return e, errBadEntry
	}
	e.created, e.expires = time.Unix(0, created), time.Unix(0, expires)
	rest := b[headerSize:]
	key, rest, ok := cutString(rest)
	if !ok {
		return e, errBadEntry
	}
	fp, rest, ok := cutString(rest)
	if !ok {
		return e, errBadEntry
	}
	e.key, e.fingerprint, e.data = key, fp, rest
	switch {
	case e.kind == kindValue && len(e.data) > 0:
	case e.kind == kindEmpty && len(e.data) == 0:
	case e.kind == kindFailure && len(e.data) <= maxFailureText:
	default:
		return e, errBadEntry
	}
	return e, nil
}

func cutString(b []byte) (string, []byte, bool) {
	n, w := binary.Uvarint(b)
	// A non-minimal length encoding is not what encode writes.
	if w <= 0 || w != uvarintLen(n) || n > uint64(len(b)-w) {
		return "", nil, false
	}
	return string(b[w : w+int(n)]), b[w+int(n):], true
}

func uvarintLen(n uint64) int {
	w := 1
	for ; n >= 0x80; n >>= 7 {
		w++
	}
	return w
}
