package connection

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Redacted is what a [Secret] shows wherever it is printed, logged or encoded.
const Redacted = "[REDACTED]"

// Secret holds a sensitive value (a password, an API key, a client secret, a
// token) so that it never prints. Every fmt verb, log/slog (text and JSON
// handlers), encoding/json and encoding.TextMarshaler users show [Redacted]
// instead of the value. Only [Secret.Reveal] returns the value.
//
// Printers that work by reflection (fmt on a Secret in an unexported struct
// field, which cannot call its methods; go-cmp's diff reporter) show the
// redaction marker and an address, never the value: the value is held only
// by a closure, and no printer looks inside a function.
//
// The zero Secret is empty. Secrets are immutable and safe to copy and to use
// from many goroutines. Compare them with [Secret.Equal], not ==, which
// compares identity.
type Secret struct {
	// redacted is Redacted for a non-empty secret: it is what printing by
	// reflection shows in place of the value.
	redacted string
	box      *secretBox
}

// secretBox holds the value in a closure, which reflection cannot look into;
// the pointer keeps Secret comparable.
type secretBox struct{ reveal func() string }

// NewSecret wraps s. An empty s gives the zero (empty) Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{redacted: Redacted, box: &secretBox{reveal: func() string { return s }}}
}

// Reveal returns the plaintext value. Call it only at the moment the value is
// put on the wire or handed to code that needs it.
func (s Secret) Reveal() string {
	if s.box == nil {
		return ""
	}
	return s.box.reveal()
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.box == nil }

// Equal reports whether two secrets hold the same value. It lets go-cmp
// compare structures that hold secrets.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String returns [Redacted], or "" for the empty secret.
func (s Secret) String() string {
	if s.box == nil {
		return ""
	}
	return Redacted
}

// GoString returns a redacted Go-syntax representation, used by %#v.
func (s Secret) GoString() string { return "connection.Secret(" + strconv.Quote(s.String()) + ")" }

// Format implements fmt.Formatter so that every verb (%v %+v %#v %s %q %x %X
// %d ...) prints the redaction marker, or nothing for the empty secret, and
// never the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q':
		_, _ = f.Write([]byte(strconv.Quote(s.String())))
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(s.GoString()))
	default:
		_, _ = f.Write([]byte(s.String()))
	}
}

// LogValue implements slog.LogValuer: handlers log the redaction marker.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redaction marker (or "" when empty), never the
// value. A Secret does not survive a JSON round trip; store secrets sealed.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText encodes the redaction marker (or "" when empty), never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
