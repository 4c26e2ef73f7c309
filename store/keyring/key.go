package keyring

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// KeySize is the size of an AES-256 key: 32 bytes, no more, no less.
const KeySize = 32

// redacted replaces key material wherever a Key is printed or logged.
const redacted = "[REDACTED]"

// Key is one AES-256 key and its id. Build one with [NewKey], [ParseKey] or
// [GenerateKey]; the zero Key has no material and is refused by [New].
//
// Keys are immutable values, safe to copy and to use from many goroutines. A
// Key never reveals its material when printed: String, GoString, Format
// (every fmt verb, %x included) and LogValue all show [REDACTED] in its
// place. Printers that work by reflection, and so cannot call those methods
// (fmt on a Key held in an unexported struct field, go-cmp's diffs, slog's
// text handler printing a struct), show a redaction marker and an address:
// the material is held only by a closure, and no printer looks inside a
// function. [Key.Base64] is the one way to read the material back.
//
// Compare keys with [Key.Equal] (same id and same material). Key is
// comparable, so it can be a map key, but == reports whether two Keys are
// copies of one Key value: two keys made separately from the same material
// are Equal and not ==.
type Key struct {
	id uint32
	// redacted is the redaction marker for a key with material: it is what
	// printing by reflection shows in place of the material.
	redacted string
	box      *keyBox // nil for the zero Key
}

// keyBox holds the material in a closure, which reflection cannot look
// into; the pointer keeps Key comparable.
type keyBox struct {
	material func() string // KeySize bytes; a string because it is immutable
}

// material returns the key material, or "" for the zero Key.
func (k Key) material() string {
	if k.box == nil {
		return ""
	}
	return k.box.material()
}

// Equal reports whether k and o have the same id and the same material; the
// material is compared in constant time. It also lets go-cmp compare values
// that hold keys.
func (k Key) Equal(o Key) bool {
	return k.id == o.id && subtle.ConstantTimeCompare([]byte(k.material()), []byte(o.material())) == 1
}

// NewKey returns a key with the given id and a copy of material, which must
// be exactly [KeySize] bytes; any other length is an error wrapping
// [ErrKeySize].
func NewKey(id uint32, material []byte) (Key, error) {
	if len(material) != KeySize {
		return Key{}, fmt.Errorf("%w: key %d has %d bytes", ErrKeySize, id, len(material))
	}
	m := string(material)
	return Key{id: id, redacted: redacted, box: &keyBox{material: func() string { return m }}}, nil
}

// ParseKey returns the key with the given id whose material is the base64
// text s, as found in a configuration file or a secret manager. It accepts
// the standard and the URL-safe alphabets, padded or not, and ignores
// surrounding white space. s must decode to exactly [KeySize] bytes (44
// characters of padded base64, such as `openssl rand -base64 32` prints).
//
// Errors wrap [ErrKeyEncoding] or [ErrKeySize]; they name the key id and
// never contain s.
func ParseKey(id uint32, s string) (Key, error) {
	s = strings.TrimSpace(s)
	var (
		b   []byte
		err error
	)
	for _, enc := range [...]*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	defer clear(b)
	if err != nil {
		// base64.CorruptInputError only holds an offset, never the input.
		return Key{}, fmt.Errorf("%w: key %d: %w", ErrKeyEncoding, id, err)
	}
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("%w: key %d decodes to %d bytes (generate one with `openssl rand -base64 32`)", ErrKeySize, id, len(b))
	}
	return NewKey(id, b)
}

// GenerateKey returns a new key with the given id and [KeySize] bytes from
// crypto/rand. Store it with [Key.Base64] and load it back with [ParseKey].
func GenerateKey(id uint32) (Key, error) {
	var b [KeySize]byte
	defer clear(b[:])
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return Key{}, fmt.Errorf("keyring: generate key %d: %w", id, err)
	}
	return NewKey(id, b[:])
}

// ID returns the key's id, the one written into every envelope it seals.
func (k Key) ID() uint32 { return k.id }

// Base64 returns the key material in padded standard base64, the form
// [ParseKey] reads. It is the only method that reveals the material: use it
// to hand a newly generated key to a secret manager, never to log.
func (k Key) Base64() string {
	return base64.StdEncoding.EncodeToString([]byte(k.material()))
}

// String returns the key id with the material redacted, like
// "keyring.Key{ID: 7, Bytes: [REDACTED]}".
func (k Key) String() string {
	m := redacted
	if k.box == nil {
		m = "none"
	}
	return "keyring.Key{ID: " + strconv.FormatUint(uint64(k.id), 10) + ", Bytes: " + m + "}"
}

// GoString implements fmt.GoStringer for %#v; it returns what String does.
func (k Key) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb (%v, %+v, %s, %x, %q,
// %d, ...) prints String's redacted form and none reaches the material.
func (k Key) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, k.String())
}

// LogValue implements slog.LogValuer: a logged key is a group with its id and
// a redaction marker in place of the material.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("id", uint64(k.id)),
		slog.String("bytes", redacted),
	)
}
