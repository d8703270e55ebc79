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
	entryMagic = "ncpc"
	// entryVersion 2 added the checksum, 3 made it SHA-256's; older
	// entries are misses.
	entryVersion = 3
	// headerSize is magic, version, kind, created, expires.
	headerSize = len(entryMagic) + 1 + 1 + 8 + 8
	// maxPayload is the largest payload of a "user" key (32767 bytes); a
	// bigger value is returned uncached.
	maxPayload = 32767
	// maxFailureText keeps a remembered error message short.
	maxFailureText = 1024
	// checksumSize is the part of the payload's SHA-256 that ends it.
	checksumSize = 4
)

// checksum is the first bytes of the payload's SHA-256. Not CRC-32C:
// hash/crc32 builds a 1 KiB table at every start, and its Castagnoli table
// takes 0.25 ms to build on first use, which every cached answer paid;
// crypto/sha256 is linked anyway and needs no table.
func checksum(b []byte) uint32 {
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint32(sum[:checksumSize])
}

// entry is what one cache key holds. Key and fingerprint are stored inside the
// payload, not only hashed into its name, so that a foreign key or a hash
// collision under the same name is recognized and treated as a miss.
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

func (e *entry) encode() []byte {
	b := make([]byte, 0, headerSize+2*binary.MaxVarintLen64+len(e.key)+len(e.fingerprint)+len(e.data)+checksumSize)
	b = append(b, entryMagic...)
	b = append(b, entryVersion, e.kind)
	b = binary.BigEndian.AppendUint64(b, uint64(e.created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.expires.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(e.key)))
	b = append(b, e.key...)
	b = binary.AppendUvarint(b, uint64(len(e.fingerprint)))
	b = append(b, e.fingerprint...)
	b = append(b, e.data...)
	return binary.BigEndian.AppendUint32(b, checksum(b))
}

var errBadEntry = errors.New("not a cache entry of this version")

// decodeEntry parses a payload read from the keyring. It is strict: anything
// that is not exactly what encode writes is foreign or damaged, and a miss.
// The checksum catches damage inside the value, which the structure alone
// cannot: a value with flipped bytes would otherwise be served, as the
// credential, until it expired. The returned data aliases b.
func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) < headerSize+checksumSize {
		return e, errBadEntry
	}
	b, sum := b[:len(b)-checksumSize], b[len(b)-checksumSize:]
	if binary.BigEndian.Uint32(sum) != checksum(b) {
		return e, errBadEntry
	}
	if len(b) < headerSize || string(b[:4]) != entryMagic || b[4] != entryVersion {
		return e, errBadEntry
	}
	e.kind = b[5]
	created := int64(binary.BigEndian.Uint64(b[6:]))
	expires := int64(binary.BigEndian.Uint64(b[14:]))
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
