package keyring

import (
	"errors"
	"fmt"

	"github.com/connkit/connkit/store"
)

// Errors about keys, returned by [NewKey], [ParseKey], [New] and the rotation
// methods; the returned errors wrap them and add the key id.
var (
	// ErrKeySize means key material is not exactly 32 bytes.
	ErrKeySize = errors.New("keyring: key must be exactly 32 bytes")
	// ErrKeyEncoding means [ParseKey] was given text that is not base64.
	ErrKeyEncoding = errors.New("keyring: key is not valid base64")
	// ErrDuplicateKey means two keys of one keyring share an id, or share
	// their key material under different ids.
	ErrDuplicateKey = errors.New("keyring: duplicate key")
	// ErrRetirePrimary means [Keyring.Retire] was asked to drop the primary
	// key, which would leave nothing to seal with.
	ErrRetirePrimary = errors.New("keyring: cannot retire the primary key")
)

// Errors from [Keyring.Open] (and [Keyring.Reseal]). Every error from Open
// wraps [store.ErrSealed] and exactly one of these.
var (
	// ErrUnknownKey means the envelope names a key id this keyring does not
	// hold: it was retired, or never loaded here. Retire also returns it for
	// an id it does not hold.
	ErrUnknownKey = errors.New("keyring: unknown key id")
	// ErrMalformed means the input is not a well-formed envelope: it is
	// truncated or has an unsupported version byte.
	ErrMalformed = errors.New("keyring: malformed envelope")
	// ErrAuthentication means the envelope names a known key but does not
	// authenticate under it: the associated data differs from the one it was
	// sealed with, or the envelope was altered.
	ErrAuthentication = errors.New("keyring: authentication failed")
)

// openError is the error of a failed Open. Its text is built from key ids,
// lengths and version bytes only, never from the envelope's contents.
type openError struct {
	reason error  // ErrUnknownKey, ErrMalformed or ErrAuthentication
	cause  error  // more detail, or nil
	detail string // appended to the message
}

func (e *openError) Error() string {
	msg := "keyring: sealed value does not open: "
	switch e.reason {
	case ErrUnknownKey:
		msg += "unknown key id"
	case ErrMalformed:
		msg += "malformed envelope"
	case ErrAuthentication:
		msg += "authentication failed"
	}
	if e.detail != "" {
		msg += " " + e.detail
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap makes errors.Is match store.ErrSealed, the reason and the cause.
func (e *openError) Unwrap() []error {
	if e.cause == nil {
		return []error{store.ErrSealed, e.reason}
	}
	return []error{store.ErrSealed, e.reason, e.cause}
}

func errUnknownKey(id uint32) error {
	return &openError{reason: ErrUnknownKey, detail: fmt.Sprintf("%d (retired, or never loaded into this keyring)", id)}
}

func errMalformed(cause error) error {
	return &openError{reason: ErrMalformed, cause: cause}
}

func errAuthentication(id uint32) error {
	return &openError{reason: ErrAuthentication, detail: fmt.Sprintf("under key id %d (other associated data, or the envelope was altered)", id)}
}
