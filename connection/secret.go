package connection

import (
	"fmt"
	"log/slog"
)

// Redacted is what a [Secret] shows wherever it is printed, logged or encoded.
const Redacted = "[REDACTED]"

// Secret holds a sensitive value (a password, an API key, a client secret, a
// token) so that it never prints. Every fmt verb, log/slog (text and JSON
// handlers), encoding/json and encoding/text show [Redacted] instead of the
// value; so does a Secret nested in an unexported struct field, which fmt
// prints by reflection without calling methods, because the value lives
// behind a pointer. Only [Secret.Reveal] returns the value.
//
// The zero Secret is empty. Secrets are immutable and safe to copy and to use
// from many goroutines.
type Secret struct {
	p *secretBox
}

type secretBox struct{ v string }

// NewSecret wraps s. An empty s gives the zero (empty) Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &secretBox{v: s}}
}

// Reveal returns the plaintext value. Call it only at the moment the value is
// put on the wire or handed to code that needs it.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil }

// Equal reports whether two secrets hold the same value. It lets go-cmp
// compare structures that hold secrets.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String returns [Redacted], or "" for the empty secret.
func (s Secret) String() string {
	if s.p == nil {
		return ""
	}
	return Redacted
}

// GoString returns a redacted Go-syntax representation.
func (s Secret) GoString() string { return `connection.Secret("` + s.String() + `")` }

// Format implements fmt.Formatter so that every verb (%v %+v %#v %s %q %x %X
// %d ...) prints the redaction marker and never the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.String()))
	default:
		_, _ = f.Write([]byte(s.String()))
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redaction marker (or "" when empty), never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText encodes the redaction marker (or "" when empty), never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
