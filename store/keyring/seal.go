package keyring

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/connkit/connkit/internal/envelope"
)

// maxPlaintext is the most AES-GCM seals under one nonce: 2^32-2 blocks.
const maxPlaintext = (1<<32 - 2) * 16

// Overhead is how many bytes Seal adds to a plaintext: the envelope header
// (1-byte version, 4-byte key id, 12-byte nonce) and the 16-byte GCM tag.
const Overhead = 33

// Overhead is fixed by the envelope layout: this does not compile if they differ.
var _ = [1]struct{}{}[Overhead-envelope.MinSize]

var errNotInitialized = errors.New("keyring: zero Keyring holds no keys; use New")

// Seal encrypts plaintext under the primary key, bound to associatedData, and
// returns a new envelope of len(plaintext)+[Overhead] bytes; see the package
// documentation for its layout. Use the same associated data to Open it,
// normally [store.AssociatedData] of the value's owner and field.
//
// Each call uses a fresh random nonce and counts against the primary key's
// budget of 2^32 seals (see "Limits" in the package documentation and
// [Keyring.Seals]). Seal allocates the envelope and nothing else.
func (r *Keyring) Seal(plaintext, associatedData []byte) ([]byte, error) {
	set := r.load()
	if set == nil {
		return nil, errNotInitialized
	}
	if uint64(len(plaintext)) > maxPlaintext {
		return nil, fmt.Errorf("keyring: plaintext of %d bytes is too large to seal", len(plaintext))
	}
	p := set.primary()
	p.seals.Add(1)
	out := make([]byte, envelope.HeaderSize, envelope.HeaderSize+len(plaintext)+envelope.TagSize)
	nonce := envelope.PutHeader(out, p.key.id)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: read random nonce: %w", err)
	}
	return p.aead.Seal(out, nonce, plaintext, associatedData), nil
}

// Open authenticates and decrypts an envelope made by Seal with the same
// associated data, under whichever key of the ring the envelope names, and
// returns the plaintext in a new slice.
//
// Every error wraps [store.ErrSealed] and one of [ErrUnknownKey] (the key was
// retired or never loaded), [ErrMalformed] (truncated, or an unsupported
// version byte) or [ErrAuthentication] (other associated data, or the
// envelope was altered). Error texts hold key ids, lengths and versions only.
// Open never panics and never modifies envelope.
func (r *Keyring) Open(envelope, associatedData []byte) ([]byte, error) {
	set := r.load()
	if set == nil {
		return nil, errNotInitialized
	}
	return set.open(nil, envelope, associatedData)
}

// open appends the plaintext of env to dst.
func (s *keySet) open(dst, env, associatedData []byte) ([]byte, error) {
	e, err := parse(env)
	if err != nil {
		return nil, err
	}
	sl := s.lookup(e.KeyID)
	if sl == nil {
		return nil, errUnknownKey(e.KeyID)
	}
	out, err := sl.aead.Open(dst, e.Nonce, e.Ciphertext, associatedData)
	if err != nil {
		// The only error GCM reports here is a failed authentication.
		return nil, errAuthentication(e.KeyID)
	}
	return out, nil
}

// NeedsReseal reports whether envelope was sealed under a key other than the
// current primary, so that it should be re-sealed (see [Keyring.Reseal])
// before that key is retired. It also reports true for input that is not a
// well-formed envelope, so maintenance that re-seals what NeedsReseal flags
// meets such values (and Open's error about them) instead of skipping them.
// It checks the header only; it does not authenticate the envelope.
func (r *Keyring) NeedsReseal(envelope []byte) bool {
	id, err := EnvelopeKeyID(envelope)
	if err != nil {
		return true
	}
	set := r.load()
	return set == nil || set.primary().key.id != id
}

// Reseal opens envelope with associatedData and seals the plaintext again
// under the current primary key, with a fresh nonce. It wipes its copy of the
// plaintext before returning. Errors from opening are those of
// [Keyring.Open]. Reseal seals again even when [Keyring.NeedsReseal] is false;
// callers that walk a store check NeedsReseal first to skip needless writes.
func (r *Keyring) Reseal(envelope, associatedData []byte) ([]byte, error) {
	set := r.load()
	if set == nil {
		return nil, errNotInitialized
	}
	plaintext, err := set.open(nil, envelope, associatedData)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	return r.Seal(plaintext, associatedData)
}

// EnvelopeKeyID returns the id of the key that sealed envelope, read from its
// header without authenticating it; use it to measure the progress of a
// rotation. An error wraps [store.ErrSealed] and [ErrMalformed].
func EnvelopeKeyID(envelope []byte) (uint32, error) {
	e, err := parse(envelope)
	if err != nil {
		return 0, err
	}
	return e.KeyID, nil
}

// parse decodes an envelope; its errors are Open errors.
func parse(b []byte) (envelope.Envelope, error) {
	e, err := envelope.Parse(b)
	if err != nil {
		return envelope.Envelope{}, errMalformed(err)
	}
	return e, nil
}
