package cache

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	t0 := time.Unix(1700000000, 123456789)
	for _, e := range []entry{
		{kind: kindValue, created: t0, expires: t0.Add(time.Minute), key: "helper:pass|get|localhost:5443", fingerprint: "1:2:3", data: []byte(`{"u":"p"}`)},
		{kind: kindEmpty, created: t0, expires: t0.Add(time.Second), key: "k"},
		{kind: kindFailure, created: t0, expires: t0.Add(time.Second), key: "k", fingerprint: "", data: []byte("helper exited 1")},
		{kind: kindValue, created: t0, expires: t0.Add(time.Nanosecond), key: string(make([]byte, 300)), data: []byte{0}},
	} {
		got, err := decodeEntry(e.encode())
		if err != nil {
			t.Fatalf("%q: %v", e.key, err)
		}
		if got.kind != e.kind || !got.created.Equal(e.created) || !got.expires.Equal(e.expires) ||
			got.key != e.key || got.fingerprint != e.fingerprint || !bytes.Equal(got.data, e.data) {
			t.Errorf("round trip of %+v gave %+v", e, got)
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	good := (&entry{kind: kindValue, created: t0, expires: t0.Add(time.Minute), key: "k", fingerprint: "f", data: []byte("v")}).encode()
	// Damage is resealed with a valid checksum, so that each case tests the
	// structure; "damaged value" tests the checksum.
	reseal := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		return binary.BigEndian.AppendUint32(b, checksum(b))
	}
	body := good[:len(good)-checksumSize]
	mutate := func(f func(b []byte) []byte) []byte { return reseal(f(append([]byte(nil), body...))) }
	for name, b := range map[string][]byte{
		"empty":            nil,
		"foreign":          []byte("hunter2"),
		"truncated header": reseal(body[:headerSize-1]),
		"truncated key":    reseal(body[:headerSize+1]),
		"truncated fp":     reseal(body[:headerSize+3]),
		"no value":         reseal(body[:headerSize+4]),
		"no checksum":      body,
		"damaged value": func() []byte {
			b := append([]byte(nil), good...)
			b[len(b)-checksumSize-1] ^= 1 // the value's last byte, checksum kept
			return b
		}(),
		"damaged checksum": append(append([]byte(nil), body...), 0, 0, 0, 0),
		"other version":    mutate(func(b []byte) []byte { b[4] = 1; return b }),
		"unknown kind":     mutate(func(b []byte) []byte { b[5] = 9; return b }),
		"expires first":    mutate(func(b []byte) []byte { copy(b[14:22], b[6:14]); return b }),
		"huge length":      mutate(func(b []byte) []byte { b[headerSize] = 0x7f; return b }),
		"empty with data":  (&entry{kind: kindEmpty, created: t0, expires: t0.Add(time.Second), key: "k", data: []byte("x")}).encode(),
		"long failure":     (&entry{kind: kindFailure, created: t0, expires: t0.Add(time.Second), key: "k", data: make([]byte, maxFailureText+1)}).encode(),
	} {
		if _, err := decodeEntry(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestEntryName(t *testing.T) {
	a, b := entryName("helper:pass|get|a"), entryName("helper:pass|get|b")
	if len(a) != 32 || a == b || a != entryName("helper:pass|get|a") {
		t.Errorf("entryName: %q %q", a, b)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	t0 := time.Unix(1700000000, 0)
	f.Add((&entry{kind: kindValue, created: t0, expires: t0.Add(time.Minute), key: "k", fingerprint: "f", data: []byte("v")}).encode())
	f.Add((&entry{kind: kindFailure, created: t0, expires: t0.Add(time.Second), key: "k", data: []byte("boom")}).encode())
	f.Add([]byte("ncpc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes: one meaning per
		// payload, so a damaged entry cannot pass for a different valid one.
		if again := e.encode(); !bytes.Equal(again, b) {
			t.Fatalf("decode/encode changed %x into %x", b, again)
		}
	})
}
