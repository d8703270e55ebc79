package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
)

// A sealed entry, as the kernel keeps it:
//
//	"ncps" | version | nonce (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes)
//
// The additional data is the 5-byte header and the entry's name, so a sealed
// payload copied under another name does not open, and the plaintext (entry.go)
// names its key again, so a collision of names is caught as well.
const (
	sealMagic   = "ncps"
	sealVersion = 3
	sealHeader  = len(sealMagic) + 1
	// keySize is an AES-256 key, the whole content of the key file.
	keySize = 32
)

// sealer seals and opens entries with one key.
type sealer struct {
	aead cipher.AEAD
	file fileState // of the key file it was read from
}

// fileState tells whether the key file changed since it was read: any write,
// chmod, chown or replacement moves one of these.
type fileState struct {
	dev, ino uint64
	ctime    int64
}

func newSealer(key [keySize]byte) (*sealer, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	// Random nonces: every process seals with the same key, so there is no
	// counter to share. 2^32 seals per key is the limit; a node makes a few
	// thousand a day.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func additionalData(name string) []byte {
	ad := make([]byte, 0, sealHeader+len(name))
	ad = append(ad, sealMagic...)
	ad = append(ad, sealVersion)
	return append(ad, name...)
}

// seal encodes e and seals it for the entry called name.
func (s *sealer) seal(name string, e *entry) []byte {
	hdr := [sealHeader]byte{sealMagic[0], sealMagic[1], sealMagic[2], sealMagic[3], sealVersion}
	b := e.encode(hdr[:], s.aead.Overhead()) // one allocation, with room for the seal
	// In place: the plaintext starts where the sealed bytes do.
	return s.aead.Seal(b[:sealHeader], nil, b[sealHeader:], additionalData(name))
}

var errSealed = errors.New("cache entry does not open with this key")

// open checks and decodes a payload read under name. A payload of another
// version, sealed with another key, damaged, or moved from another name is
// errSealed. It decrypts in place: the returned entry's data aliases payload.
func (s *sealer) open(name string, payload []byte) (entry, error) {
	if len(payload) < sealHeader || string(payload[:len(sealMagic)]) != sealMagic || payload[len(sealMagic)] != sealVersion {
		return entry{}, errSealed
	}
	ct := payload[sealHeader:]
	plain, err := s.aead.Open(ct[:0], nil, ct, additionalData(name))
	if err != nil {
		return entry{}, errSealed
	}
	return decodeEntry(plain)
}
