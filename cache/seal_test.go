package cache

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"testing"
	"time"
)

// testKey is a key of bytes fill, fill+1, ...
func testKey(fill byte) [keySize]byte {
	var k [keySize]byte
	for i := range k {
		k[i] = fill + byte(i)
	}
	return k
}

func testSealer(t testing.TB, fill byte) *sealer {
	t.Helper()
	s, err := newSealer(testKey(fill))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := testSealer(t, 1)
	t0 := time.Unix(1700000000, 5)
	secret := []byte(`{"username":"u","password":"s3cret-Zq9"}`)
	e := entry{kind: kindValue, created: t0, expires: t0.Add(time.Hour), key: "helper:pass|get|r", fingerprint: "fp", data: secret}
	name := entryName(e.key)
	p := s.seal(name, &e)
	for _, form := range [][]byte{secret, []byte("s3cret-Zq9"), []byte(base64.StdEncoding.EncodeToString(secret)), []byte(e.key)} {
		if bytes.Contains(p, form) {
			t.Fatalf("sealed payload shows %q", form)
		}
	}
	if len(p) != sealHeader+len(e.encode(nil, 0))+s.aead.Overhead() {
		t.Errorf("sealed %d bytes", len(p))
	}
	// Two seals of one entry differ (random nonces).
	if bytes.Equal(p, s.seal(name, &e)) {
		t.Errorf("two seals are equal")
	}
	got, err := s.open(name, p)
	if err != nil || got.key != e.key || !bytes.Equal(got.data, secret) || !got.expires.Equal(e.expires) {
		t.Fatalf("open: %+v %v", got, err)
	}
}

// Wrong key, tampering anywhere, a payload moved to another entry's name,
// another version: every one is a miss, never a value.
func TestOpenRejects(t *testing.T) {
	s := testSealer(t, 1)
	t0 := time.Unix(1700000000, 0)
	e := entry{kind: kindValue, created: t0, expires: t0.Add(time.Hour), key: "k", fingerprint: "fp", data: []byte("secret")}
	name := entryName("k")
	p := s.seal(name, &e)
	if _, err := testSealer(t, 2).open(name, p); err == nil {
		t.Errorf("opened with another key")
	}
	if _, err := s.open(entryName("other"), append([]byte(nil), p...)); err == nil {
		t.Errorf("opened under another entry's name")
	}
	for i := range p {
		b := append([]byte(nil), p...)
		b[i] ^= 0x01
		if _, err := s.open(name, b); err == nil {
			t.Fatalf("byte %d flipped: opened", i)
		}
	}
	for n := 0; n < len(p); n++ {
		if _, err := s.open(name, append([]byte(nil), p[:n]...)); err == nil {
			t.Fatalf("truncated to %d: opened", n)
		}
	}
	if _, err := s.open(name, append(append([]byte(nil), p...), 0)); err == nil {
		t.Errorf("extended: opened")
	}
	// The plain-text entries of the version before sealing.
	if _, err := s.open(name, append([]byte("ncpc\x02\x01"), make([]byte, 40)...)); err == nil {
		t.Errorf("legacy entry opened")
	}
}

// A sealed payload that opens holds an entry encode made: the checks of
// decodeEntry still apply behind the seal.
func TestOpenDecodesStrictly(t *testing.T) {
	s := testSealer(t, 1)
	name := entryName("k")
	hdr := []byte{sealMagic[0], sealMagic[1], sealMagic[2], sealMagic[3], sealVersion}
	p := s.aead.Seal(hdr, nil, []byte("not an entry"), additionalData(name))
	if _, err := s.open(name, p); err == nil {
		t.Errorf("garbage under a valid seal decoded")
	}
}

func FuzzOpen(f *testing.F) {
	s := testSealer(f, 1)
	t0 := time.Unix(1700000000, 0)
	// The valid seal, with a fixed nonce: fuzzing workers are other
	// processes and must build the same bytes.
	key := testKey(1)
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	plain := (&entry{kind: kindValue, created: t0, expires: t0.Add(time.Minute), key: "k", data: []byte("v")}).encode(nil, 0)
	valid := gcm.Seal(append([]byte("ncps\x03"), nonce...), nonce, plain, additionalData(entryName("k")))
	if _, err := s.open(entryName("k"), append([]byte(nil), valid...)); err != nil {
		f.Fatalf("the fixed-nonce seal does not open: %v", err)
	}
	f.Add(append([]byte(nil), valid...))
	f.Add([]byte("ncps\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Only the seal made with the key opens: no change to it does.
		if _, err := s.open(entryName("k"), append([]byte(nil), b...)); err == nil && !bytes.Equal(b, valid) {
			t.Fatalf("opened %x", b)
		}
	})
}
