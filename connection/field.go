package connection

import "slices"

// Kind is how a field's value is entered and interpreted. Every value is
// stored as a string; the kind says how to read it and which form control a
// host shows.
type Kind string

// The field kinds.
const (
	KindString   Kind = "string"   // one line of text
	KindPassword Kind = "password" // one line of secret text; always secret
	KindText     Kind = "text"     // several lines of text (a PEM key, a JSON blob)
	KindURL      Kind = "url"      // an absolute http or https URL
	KindBoolean  Kind = "boolean"  // "true" or "false" (any strconv.ParseBool form)
	KindNumber   Kind = "number"   // a finite decimal number
	KindChoice   Kind = "choice"   // one of Field.Choices
)

// valid reports whether k is a known kind; "" means KindString.
func (k Kind) valid() bool {
	switch k {
	case "", KindString, KindPassword, KindText, KindURL, KindBoolean, KindNumber, KindChoice:
		return true
	}
	return false
}

// Field is one input of a connection type: a host name, a user name, an API
// key, a client id. Its Key is stable and used by code; its Label is what
// people see and may be renamed (see [Type.Relabel]).
type Field struct {
	// Key identifies the field in values, templates, defaults and code.
	// It must satisfy [ValidKey] (a letter, then up to 127 letters, digits,
	// '_', '.' or '-') and be unique within its type.
	Key string `json:"key" yaml:"key"`
	// Label is the human-readable name; empty means Key.
	Label string `json:"label,omitempty" yaml:"label,omitempty"`
	// Kind says how the value is read; empty means KindString.
	Kind Kind `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Required fields must have a non-empty value once resolved.
	Required bool `json:"required,omitempty" yaml:"required,omitempty"`
	// Default is the type's own default value, the lowest layer of resolution.
	// A secret field should not carry a default.
	Default string `json:"default,omitempty" yaml:"default,omitempty"`
	// Placeholder is shown in an empty input, such as "https://acme.example".
	Placeholder string `json:"placeholder,omitempty" yaml:"placeholder,omitempty"`
	// Example is a sample value shown as help next to the input.
	Example string `json:"example,omitempty" yaml:"example,omitempty"`
	// Comments is longer help text: where to find the value, what it is for.
	Comments string `json:"comments,omitempty" yaml:"comments,omitempty"`
	// Choices lists the allowed values of a KindChoice field.
	Choices []string `json:"choices,omitempty" yaml:"choices,omitempty"`
	// Rule is a validation rule in go-playground/validator tag syntax, such as
	// "url", "hostname", "uuid", "min=8" or "hostname|ip". It applies to
	// non-empty values; emptiness is governed by Required. Number fields are
	// checked as float64 ("min=8" means at least 8), boolean fields as bool,
	// all others as strings ("min=8" means at least 8 characters). Rules that
	// refer to other fields (eqfield, required_if, ...) are refused.
	Rule string `json:"rule,omitempty" yaml:"rule,omitempty"`
	// Secret marks the value as sensitive: it is sealed at rest, never shown
	// back, never logged. KindPassword fields are always secret.
	Secret bool `json:"secret,omitempty" yaml:"secret,omitempty"`
}

// DisplayLabel returns Label, or Key when Label is empty.
func (f Field) DisplayLabel() string {
	if f.Label != "" {
		return f.Label
	}
	return f.Key
}

// IsSecret reports whether the field's value is sensitive.
func (f Field) IsSecret() bool { return f.Secret || f.Kind == KindPassword }

func (f Field) clone() Field {
	f.Choices = slices.Clone(f.Choices)
	return f
}
