package envelope_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/internal/envelope"
)

// build returns a version 1 envelope for keyID with a recognisable nonce and a
// ciphertext of n bytes (tag included).
func build(keyID uint32, n int) []byte {
	b := make([]byte, envelope.HeaderSize+n)
	nonce := envelope.PutHeader(b, keyID)
	for i := range nonce {
		nonce[i] = byte(0xA0 + i)
	}
	for i := envelope.HeaderSize; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func TestLayoutConstants(t *testing.T) {
	got := []int{envelope.HeaderSize, envelope.MinSize}
	want := []int{17, 33}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HeaderSize, MinSize mismatch (-want +got):\n%s", diff)
	}
}

func TestPutHeaderThenParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keyID uint32
		n     int
	}{
		{"empty plaintext", 0, envelope.TagSize},
		{"small", 7, envelope.TagSize + 5},
		{"max key id", ^uint32(0), envelope.TagSize + 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := build(tc.keyID, tc.n)
			if b[0] != envelope.Version1 {
				t.Fatalf("version byte = %d, want %d", b[0], envelope.Version1)
			}
			got, err := envelope.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := envelope.Envelope{
				KeyID:      tc.keyID,
				Nonce:      b[5:17],
				Ciphertext: b[17:],
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutHeaderBigEndianKeyID(t *testing.T) {
	b := make([]byte, envelope.HeaderSize)
	envelope.PutHeader(b, 0x01020304)
	want := []byte{1, 1, 2, 3, 4}
	if diff := cmp.Diff(want, b[:5]); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
}

func TestParseAliasesInput(t *testing.T) {
	b := build(3, envelope.TagSize+4)
	e, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b[5], b[17] = 0xEE, 0xFF
	if e.Nonce[0] != 0xEE || e.Ciphertext[0] != 0xFF {
		t.Errorf("Parse copied the input; want slices aliasing it")
	}
	// Appending to a returned slice must not overwrite the input.
	if cap(e.Nonce) != envelope.NonceSize {
		t.Errorf("cap(Nonce) = %d, want %d", cap(e.Nonce), envelope.NonceSize)
	}
}

func TestParseErrors(t *testing.T) {
	valid := build(9, envelope.TagSize+3)
	badVersion := bytes.Clone(valid)
	badVersion[0] = 2
	for _, tc := range []struct {
		name    string
		in      []byte
		want    error
		wantMsg string
	}{
		{"nil", nil, envelope.ErrTruncated, "truncated: empty, want at least 33 bytes"},
		{"empty", []byte{}, envelope.ErrTruncated, "truncated: empty, want at least 33 bytes"},
		{"version only", []byte{1}, envelope.ErrTruncated, "truncated: 1 bytes, want at least 33"},
		{"header only", valid[:envelope.HeaderSize], envelope.ErrTruncated, "truncated: 17 bytes, want at least 33"},
		{"one short of min", valid[:envelope.MinSize-1], envelope.ErrTruncated, "truncated: 32 bytes, want at least 33"},
		{"version 0", []byte{0}, envelope.ErrVersion, "unsupported version 0, want 1"},
		{"version 2 full length", badVersion, envelope.ErrVersion, "unsupported version 2, want 1"},
		{"version 255", []byte{255, 1, 2}, envelope.ErrVersion, "unsupported version 255, want 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envelope.Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse error = %v, want %v", err, tc.want)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("Parse error text = %q, want %q", err.Error(), tc.wantMsg)
			}
			if diff := cmp.Diff(envelope.Envelope{}, got); diff != "" {
				t.Errorf("Parse returned a non-zero Envelope with an error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	b := build(1, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := envelope.Parse(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocated %v times per call, want 0", allocs)
	}
}

func TestPutHeaderShortBufferPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("PutHeader on a short buffer did not panic")
		}
	}()
	envelope.PutHeader(make([]byte, envelope.HeaderSize-1), 1)
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(build(1, envelope.TagSize))
	f.Add(build(0xFFFFFFFF, envelope.TagSize+100))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.Parse(b)
		if err != nil {
			if !errors.Is(err, envelope.ErrTruncated) && !errors.Is(err, envelope.ErrVersion) {
				t.Fatalf("Parse error %v wraps neither ErrTruncated nor ErrVersion", err)
			}
			return
		}
		if len(e.Nonce) != envelope.NonceSize || len(e.Ciphertext) < envelope.TagSize {
			t.Fatalf("Parse accepted a bad layout: nonce %d bytes, ciphertext %d bytes", len(e.Nonce), len(e.Ciphertext))
		}
		re := make([]byte, envelope.HeaderSize, envelope.HeaderSize+len(e.Ciphertext))
		copy(envelope.PutHeader(re, e.KeyID), e.Nonce)
		re = append(re, e.Ciphertext...)
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, b)
		}
	})
}
