package connection

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// ErrInvalid is matched (with errors.Is) by every *[ValidationError].
var ErrInvalid = errors.New("connection: invalid")

// FieldError is one problem found by validation: which field (or which part
// of a declaration), its label where known, and why. It never holds a value.
type FieldError struct {
	// Key is the field key, or a path such as "oauth2.tokenUrl" for problems
	// of a declaration that are not about one field.
	Key string
	// Label is the field's label, when the problem is about a field.
	Label string
	// Reason says what is wrong, in words that never include a value.
	Reason string
}

// String returns "key (label): reason", leaving out the label when it is
// empty or equal to the key. A key that is not plain printable text (it may
// come from outside input) is quoted.
func (e FieldError) String() string {
	var b strings.Builder
	b.WriteString(plain(e.Key))
	if e.Label != "" && e.Label != e.Key {
		b.WriteString(" (")
		b.WriteString(e.Label)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// ValidationError reports every problem found in a declaration or in a set of
// values at once. It matches [ErrInvalid] with errors.Is. Its message never
// contains a field's value.
type ValidationError struct {
	// Subject names what was validated, such as `type "acme"`.
	Subject string
	// Problems lists every problem, in a stable order.
	Problems []FieldError
}

// Error lists every problem: "connection: invalid <subject>: key (label):
// reason; ...".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("connection: invalid ")
	b.WriteString(e.Subject)
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Field returns the problems reported for one key.
func (e *ValidationError) Field(key string) []FieldError {
	var out []FieldError
	for _, p := range e.Problems {
		if p.Key == key {
			out = append(out, p)
		}
	}
	return out
}

// plain returns s, or s quoted when it is empty or holds anything but
// printable characters other than the separators Error uses, so that a key
// from outside input cannot forge or hide entries of the message.
func plain(s string) string {
	if s == "" || strings.ContainsAny(s, ";()") {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// problems collects FieldErrors and turns them into a *ValidationError.
type problems struct {
	subject string
	list    []FieldError
}

func (p *problems) add(key, label, reason string) {
	p.list = append(p.list, FieldError{Key: key, Label: label, Reason: reason})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Subject: p.subject, Problems: p.list}
}
