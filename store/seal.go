package store

import (
	"encoding/binary"
	"errors"
)

// Sealer seals (encrypts and authenticates) secret values before they reach a
// store, and opens them again. Every secret field value, every token set and
// every PKCE verifier passes through a Sealer, so a host's storage only ever
// holds ciphertext.
//
// The associated data binds a sealed value to where it belongs (see
// [AssociatedData]): opening an envelope with other associated data fails, so a
// ciphertext copied to another connection or field does not open.
//
// Implementations must be safe for concurrent use. Open must never panic on
// malformed input and its errors must never contain plaintext. The default
// implementation is the AES-256-GCM keyring in package store/keyring.
type Sealer interface {
	// Seal encrypts plaintext bound to associatedData and returns a
	// self-describing envelope (it names the key that sealed it).
	Seal(plaintext, associatedData []byte) ([]byte, error)
	// Open authenticates and decrypts an envelope made by Seal with the same
	// associated data. A wrong key, a corrupted or truncated envelope, or other
	// associated data is an error wrapping ErrSealed.
	Open(envelope, associatedData []byte) ([]byte, error)
}

// Resealer is implemented by sealers that rotate keys (such as the default
// keyring). NeedsReseal reports whether an envelope was sealed under a key other
// than the current primary, so [Rewrap]-style maintenance can re-seal it and
// the old key can be retired.
type Resealer interface {
	Sealer
	NeedsReseal(envelope []byte) bool
}

// ErrSealed is wrapped by every error that comes from opening a sealed value:
// an unknown key id, a corrupted or truncated envelope, or associated data that
// does not match.
var ErrSealed = errors.New("store: sealed value does not open")

// AssociatedData returns the associated data that binds a sealed value to one
// owner (a connection id, template id or pending-authorization id) and one
// field name within it. Use it for both Seal and Open.
func AssociatedData(kind, owner, field string) []byte {
	// Each part is length-prefixed so that no two different triples encode to
	// the same bytes.
	b := make([]byte, 0, len(aadVersion)+len(kind)+len(owner)+len(field)+3*binary.MaxVarintLen64)
	b = append(b, aadVersion...)
	for _, part := range [...]string{kind, owner, field} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return b
}

const aadVersion = "connkit-aad-v1"
