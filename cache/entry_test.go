package cache

import (
	"bytes"
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
		got, err := decodeEntry(e.encode(nil, 0))
		if err != nil {
			t.Fatalf("%q: %v", e.key, err)
		}
		if got.kind != e.kind || !got.created.Equal(e.created) || !got.expires.Equal(e.expires) ||
			got.key != e.key || got.fingerprint != e.fingerprint || !bytes.Equal(got.data, e.data) {
			t.Errorf("round trip of %+v gave %+v", e, got)
		}
	}
}

func TestEncodeKeepsPrefixAndRoom(t *testing.T) {
	e := entry{kind: kindValue, created: time.Unix(1, 0), expires: time.Unix(2, 0), key: "k", data: []byte("v")}
	b := e.encode([]byte("hdr"), 28)
	if string(b[:3]) != "hdr" || cap(b)-len(b) < 28 {
		t.Fatalf("encode: %q, %d spare", b, cap(b)-len(b))
	}
	if _, err := decodeEntry(b[3:]); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	good := (&entry{kind: kindValue, created: t0, expires: t0.Add(time.Minute), key: "k", fingerprint: "f", data: []byte("v")}).encode(nil, 0)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"empty":            nil,
		"foreign":          []byte("hunter2"),
		"truncated header": good[:headerSize-1],
		"truncated key":    good[:headerSize+1],
		"truncated fp":     good[:headerSize+3],
		"no value":         good[:headerSize+4],
		"unknown kind":     mutate(func(b []byte) []byte { b[0] = 9; return b }),
		"expires first":    mutate(func(b []byte) []byte { copy(b[9:17], b[1:9]); return b }),
		"huge length":      mutate(func(b []byte) []byte { b[headerSize] = 0x7f; return b }),
		"long length form": mutate(func(b []byte) []byte {
			return append(append(b[:headerSize:headerSize], 0x81, 0x00), b[headerSize+1:]...)
		}),
		"empty with data": (&entry{kind: kindEmpty, created: t0, expires: t0.Add(time.Second), key: "k", data: []byte("x")}).encode(nil, 0),
		"long failure":    (&entry{kind: kindFailure, created: t0, expires: t0.Add(time.Second), key: "k", data: make([]byte, maxFailureText+1)}).encode(nil, 0),
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
	f.Add((&entry{kind: kindValue, created: t0, expires: t0.Add(time.Minute), key: "k", fingerprint: "f", data: []byte("v")}).encode(nil, 0))
	f.Add((&entry{kind: kindFailure, created: t0, expires: t0.Add(time.Second), key: "k", data: []byte("boom")}).encode(nil, 0))
	f.Add([]byte{kindValue})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes: one meaning per
		// plaintext.
		if again := e.encode(nil, 0); !bytes.Equal(again, b) {
			t.Fatalf("decode/encode changed %x into %x", b, again)
		}
	})
}
