package connection

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Values maps field keys to values. Every value is held like a [Secret], so
// printing, logging or JSON-encoding a Values shows only its keys, never a
// value, whether or not the field is secret; the typed getters return the
// values themselves.
//
// The zero Values is empty and ready to use. Values is not safe for
// concurrent mutation; copy it with [Values.Clone].
type Values struct {
	m map[string]Secret
}

// ValuesOf returns Values holding a copy of m.
func ValuesOf(m map[string]string) Values {
	var v Values
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// Set sets key to s. Setting "" keeps the key with an empty value.
func (v *Values) Set(key, s string) {
	if v.m == nil {
		v.m = make(map[string]Secret)
	}
	v.m[key] = NewSecret(s)
}

// SetSecret sets key to the value of s.
func (v *Values) SetSecret(key string, s Secret) {
	if v.m == nil {
		v.m = make(map[string]Secret)
	}
	v.m[key] = s
}

// Delete removes key.
func (v *Values) Delete(key string) { delete(v.m, key) }

// Len returns the number of keys.
func (v Values) Len() int { return len(v.m) }

// Has reports whether key is present (possibly with an empty value).
func (v Values) Has(key string) bool {
	_, ok := v.m[key]
	return ok
}

// Keys returns the keys in sorted order.
func (v Values) Keys() []string { return slices.Sorted(maps.Keys(v.m)) }

// Lookup returns the value of key and whether it is present.
func (v Values) Lookup(key string) (string, bool) {
	s, ok := v.m[key]
	return s.Reveal(), ok
}

// String returns the value of key, or "" when absent.
func (v Values) String(key string) string { return v.m[key].Reveal() }

// Secret returns the value of key as a Secret (the zero Secret when absent).
func (v Values) Secret(key string) Secret { return v.m[key] }

// Bool returns the value of key read as a boolean. An absent or empty value is
// false; anything but a strconv.ParseBool form is an error naming the key
// (never the value) and matching [ErrInvalid].
func (v Values) Bool(key string) (bool, error) {
	s := v.String(key)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("connection: field %q is not a boolean: %w", key, ErrInvalid)
	}
	return b, nil
}

// Int returns the value of key read as a base-10 integer. An absent or empty
// value is 0; anything else that is not an integer is an error naming the key
// (never the value) and matching [ErrInvalid].
func (v Values) Int(key string) (int64, error) {
	s := v.String(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("connection: field %q is not an integer: %w", key, ErrInvalid)
	}
	return n, nil
}

// Float returns the value of key read as a finite decimal number, as a
// [KindNumber] field holds. An absent or empty value is 0; anything else that
// is not one is an error naming the key (never the value) and matching
// [ErrInvalid].
func (v Values) Float(key string) (float64, error) {
	s := v.String(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("connection: field %q is not a finite number: %w", key, ErrInvalid)
	}
	return n, nil
}

// URL returns the value of key parsed as an absolute http or https URL
// without user information. An absent or empty value is an error, as is
// anything else that is not one; errors name the key (never the value) and
// match [ErrInvalid].
func (v Values) URL(key string) (*url.URL, error) {
	s := v.String(key)
	if s == "" {
		return nil, fmt.Errorf("connection: field %q has no value: %w", key, ErrInvalid)
	}
	if reason := checkURL(s); reason != "" {
		return nil, fmt.Errorf("connection: field %q %s: %w", key, reason, ErrInvalid)
	}
	return url.Parse(s)
}

// Clone returns a copy that shares no map with v.
func (v Values) Clone() Values { return Values{m: maps.Clone(v.m)} }

// Map returns the values as a plain map. The result holds plaintext secrets:
// use it only where the values go on the wire or into code that needs them.
func (v Values) Map() map[string]string {
	out := make(map[string]string, len(v.m))
	for k, s := range v.m {
		out[k] = s.Reveal()
	}
	return out
}

// Equal reports whether v and o hold the same keys and values. It lets go-cmp
// compare Values.
func (v Values) Equal(o Values) bool {
	return maps.EqualFunc(v.m, o.m, Secret.Equal)
}

// Format implements fmt.Formatter: every verb prints the keys only, such as
// Values{apiKey, host}, never a value.
func (v Values) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "Values{%s}", strings.Join(v.Keys(), ", "))
}

// MarshalJSON encodes each key with the redaction marker, never a value.
func (v Values) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range v.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteString(`:"` + Redacted + `"`)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}
