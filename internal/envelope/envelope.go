// Package envelope is the wire format of values sealed by the store/keyring
// package. It only encodes and decodes; it knows nothing about keys or
// ciphers.
//
// A version 1 envelope is
//
//	offset  size  field
//	0       1     version, always 0x01
//	1       4     key id, big-endian uint32
//	5       12    nonce, random per envelope
//	17      n+16  AES-256-GCM ciphertext of an n-byte plaintext, then the 16-byte tag
//
// so it is HeaderSize+len(plaintext)+TagSize bytes long and never shorter than
// MinSize. The header is not part of the GCM associated data; it is bound to
// the ciphertext implicitly: the key id selects the key (a keyring refuses two
// ids with the same key material, so rewriting the id makes authentication
// fail), and a decoder of version 1 rejects every other version. A future
// version that needs more will get a new version byte and its own layout.
//
// [Parse] reads bytes that come from storage, which is outside input: it never
// panics and never allocates.
package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Layout of a version 1 envelope.
const (
	// Version1 is the first byte of every envelope this package writes.
	Version1 byte = 1
	// KeyIDSize is the size of the big-endian key id.
	KeyIDSize = 4
	// NonceSize is the size of the GCM nonce.
	NonceSize = 12
	// TagSize is the size of the GCM authentication tag that ends the
	// ciphertext.
	TagSize = 16
	// HeaderSize is the size of everything before the ciphertext: version,
	// key id and nonce.
	HeaderSize = 1 + KeyIDSize + NonceSize
	// MinSize is the size of an envelope of an empty plaintext, the
	// smallest well-formed envelope.
	MinSize = HeaderSize + TagSize
)

// Errors returned by [Parse]; the returned errors wrap them and add detail.
var (
	// ErrTruncated means the input is shorter than MinSize (empty included).
	ErrTruncated = errors.New("truncated")
	// ErrVersion means the first byte is not a version this package reads.
	ErrVersion = errors.New("unsupported version")
)

// Envelope is a decoded envelope. Its slices alias the bytes given to
// [Parse]; they are not copies.
type Envelope struct {
	// KeyID names the key that sealed the envelope.
	KeyID uint32
	// Nonce is the NonceSize-byte GCM nonce.
	Nonce []byte
	// Ciphertext is the GCM ciphertext followed by its TagSize-byte tag; it
	// is at least TagSize bytes long.
	Ciphertext []byte
}

// Parse decodes a version 1 envelope. It checks the layout only: whether the
// ciphertext authenticates is for the caller's AEAD to say. Errors wrap
// [ErrTruncated] or [ErrVersion] and describe the input by its length and
// version byte only.
func Parse(b []byte) (Envelope, error) {
	if len(b) == 0 {
		return Envelope{}, fmt.Errorf("%w: empty, want at least %d bytes", ErrTruncated, MinSize)
	}
	if b[0] != Version1 {
		return Envelope{}, fmt.Errorf("%w %d, want %d", ErrVersion, b[0], Version1)
	}
	if len(b) < MinSize {
		return Envelope{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrTruncated, len(b), MinSize)
	}
	return Envelope{
		KeyID:      binary.BigEndian.Uint32(b[1 : 1+KeyIDSize]),
		Nonce:      b[1+KeyIDSize : HeaderSize : HeaderSize],
		Ciphertext: b[HeaderSize:len(b):len(b)],
	}, nil
}

// PutHeader writes a version 1 header naming keyID into b[:HeaderSize] and
// returns b's nonce field, b[5:17], for the caller to fill with random bytes
// before sealing into b[HeaderSize:]. It panics if len(b) < HeaderSize, which
// is a bug in the caller, never a property of outside input.
func PutHeader(b []byte, keyID uint32) (nonce []byte) {
	_ = b[HeaderSize-1] // one bounds check, early
	b[0] = Version1
	binary.BigEndian.PutUint32(b[1:1+KeyIDSize], keyID)
	return b[1+KeyIDSize : HeaderSize : HeaderSize]
}
