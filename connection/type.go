package connection

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// AuthMethod is how a connection's values authenticate an HTTP request.
type AuthMethod string

// The authentication methods.
const (
	// AuthNone adds nothing to requests.
	AuthNone AuthMethod = "none"
	// AuthBearer sends the OAuth 2.0 access token as "Authorization: Bearer".
	AuthBearer AuthMethod = "bearer"
	// AuthHeader sends a field's value in a header, with an optional prefix.
	AuthHeader AuthMethod = "header"
	// AuthQuery sends a field's value as a query parameter.
	AuthQuery AuthMethod = "query"
	// AuthBasic sends HTTP Basic credentials from two fields.
	AuthBasic AuthMethod = "basic"
)

// Auth declares how a type's values authenticate requests made with the
// connection's *http.Client.
type Auth struct {
	// Method is the authentication method; empty means AuthBearer for types
	// with OAuth2 settings and AuthNone otherwise.
	Method AuthMethod `json:"method,omitempty" yaml:"method,omitempty"`
	// Field is the field holding the API key (AuthHeader, AuthQuery).
	Field string `json:"field,omitempty" yaml:"field,omitempty"`
	// Header is the header name for AuthHeader (for example "X-API-Key" or
	// "Authorization"); it must be a valid header name.
	Header string `json:"header,omitempty" yaml:"header,omitempty"`
	// Prefix is prepended to the value in the header, such as "Bearer " or
	// "Token "; it must not contain line breaks.
	Prefix string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	// Param is the query parameter name for AuthQuery.
	Param string `json:"param,omitempty" yaml:"param,omitempty"`
	// UsernameField is the field holding the Basic user name (AuthBasic).
	UsernameField string `json:"usernameField,omitempty" yaml:"usernameField,omitempty"`
	// PasswordField is the field holding the Basic password (AuthBasic).
	PasswordField string `json:"passwordField,omitempty" yaml:"passwordField,omitempty"`
}

// Type is a connection type as a component declares it: the fields a
// connection of this type has, optional OAuth 2.0 settings, and how its values
// authenticate requests.
//
// Build a Type as a literal and pass it to [Declare], which checks it, fills
// in defaults and returns the Type to use. A declared Type must not be
// modified; derive variants with [Type.Relabel].
type Type struct {
	// Key identifies the type within its component.
	Key string `json:"key" yaml:"key"`
	// Label is the human-readable name; empty means Key.
	Label string `json:"label,omitempty" yaml:"label,omitempty"`
	// Description says what the connection is for.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Fields are the inputs, in display order.
	Fields []Field `json:"fields,omitempty" yaml:"fields,omitempty"`
	// OAuth2 holds the OAuth 2.0 settings; nil for types without OAuth.
	OAuth2 *OAuth2 `json:"oauth2,omitempty" yaml:"oauth2,omitempty"`
	// Auth says how values authenticate requests.
	Auth Auth `json:"auth,omitzero" yaml:"auth,omitempty"`
}

// Field returns the field with the given key.
func (t *Type) Field(key string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// HasField reports whether the type has a field with the given key.
func (t *Type) HasField(key string) bool {
	_, ok := t.Field(key)
	return ok
}

// DisplayLabel returns Label, or Key when Label is empty.
func (t *Type) DisplayLabel() string {
	if t.Label != "" {
		return t.Label
	}
	return t.Key
}

// IsOAuth2 reports whether the type uses OAuth 2.0.
func (t *Type) IsOAuth2() bool { return t.OAuth2 != nil }

// Clone returns a deep copy of t.
func (t Type) Clone() Type {
	t.Fields = slices.Clone(t.Fields)
	for i := range t.Fields {
		t.Fields[i] = t.Fields[i].clone()
	}
	t.OAuth2 = t.OAuth2.clone()
	return t
}

// Declare checks a connection type and returns the normalized copy to use:
// labels default to keys, kinds to [KindString], password fields are secret,
// the auth method gets its default, and for a type with OAuth2 settings the
// standard fields ([FieldClientID], [FieldClientSecret], [FieldAuthorizeURL],
// [FieldTokenURL], [FieldRevokeURL], [FieldScopes]) are added where missing,
// with the URLs and scopes of the settings as their defaults. Every problem is
// reported at once in a *[ValidationError]. t is not modified.
func Declare(t Type) (Type, error) {
	d := t.Clone()
	d.normalize()
	p := &problems{subject: fmt.Sprintf("type %q", t.Key)}
	d.validateInto(p, "")
	if err := p.err(); err != nil {
		return Type{}, err
	}
	return d, nil
}

// MustDeclare is like [Declare] but panics on error. It is meant for
// package-level declarations of fixed types in components.
func MustDeclare(t Type) Type {
	d, err := Declare(t)
	if err != nil {
		panic(err)
	}
	return d
}

// normalize fills in what a declaration may leave out. It is idempotent, so a
// declared type normalizes to itself.
func (t *Type) normalize() {
	if t.OAuth2 != nil {
		t.addOAuth2Fields()
	}
	for i := range t.Fields {
		f := &t.Fields[i]
		if f.Kind == "" {
			f.Kind = KindString
		}
		if f.Label == "" {
			f.Label = f.Key
		}
		if f.Kind == KindPassword {
			f.Secret = true
		}
	}
	if t.Auth.Method == "" {
		if t.OAuth2 != nil {
			t.Auth.Method = AuthBearer
		} else {
			t.Auth.Method = AuthNone
		}
	}
}

// addOAuth2Fields adds the standard OAuth 2.0 fields a type does not declare
// and completes the ones it does: an empty kind or default is taken from the
// standard field, and the client secret is always secret. A URL field is added
// only when the settings give its URL, so that a type with neither the URL nor
// its own field fails validation instead of silently requiring a value.
func (t *Type) addOAuth2Fields() {
	o := t.OAuth2
	authCode := o.GrantOrDefault() == GrantAuthorizationCode
	std := []struct {
		f   Field
		add bool
	}{
		{Field{Key: FieldClientID, Label: "Client ID", Kind: KindString, Required: true}, true},
		{Field{Key: FieldClientSecret, Label: "Client Secret", Kind: KindPassword, Secret: true, Required: !authCode}, true},
		{Field{Key: FieldAuthorizeURL, Label: "Authorize URL", Kind: KindURL, Required: true, Default: o.AuthorizeURL}, authCode && o.AuthorizeURL != ""},
		{Field{Key: FieldTokenURL, Label: "Token URL", Kind: KindURL, Required: true, Default: o.TokenURL}, o.TokenURL != ""},
		{Field{Key: FieldRevokeURL, Label: "Revoke URL", Kind: KindURL, Default: o.RevokeURL}, o.RevokeURL != ""},
		{Field{Key: FieldScopes, Label: "Scopes", Kind: KindString, Default: strings.Join(o.Scopes, o.SeparatorOrDefault())}, true},
	}
	for _, s := range std {
		i := slices.IndexFunc(t.Fields, func(f Field) bool { return f.Key == s.f.Key })
		if i < 0 {
			if s.add {
				t.Fields = append(t.Fields, s.f)
			}
			continue
		}
		f := &t.Fields[i]
		if f.Kind == "" {
			f.Kind = s.f.Kind
		}
		if f.Default == "" {
			f.Default = s.f.Default
		}
		if f.Key == FieldClientSecret {
			f.Secret = true
		}
	}
}

// Relabel returns a copy of the type whose fields are shown with other labels,
// for a component that presents an existing type in its own words ("Client
// ID" shown as "App ID"). labels maps field keys to new labels; keys, kinds,
// rules and behaviour stay as they are, and t is not modified. A key the type
// does not have, or an empty label, is reported in a *[ValidationError].
func (t Type) Relabel(labels map[string]string) (Type, error) {
	c := t.Clone()
	var problems []FieldError
	for _, key := range slices.Sorted(maps.Keys(labels)) {
		i := slices.IndexFunc(c.Fields, func(f Field) bool { return f.Key == key })
		if i < 0 {
			problems = append(problems, FieldError{Key: key, Reason: "the type has no such field"})
			continue
		}
		if strings.TrimSpace(labels[key]) == "" {
			problems = append(problems, FieldError{Key: key, Label: c.Fields[i].Label, Reason: "new label is empty"})
			continue
		}
		c.Fields[i].Label = labels[key]
	}
	if len(problems) > 0 {
		return Type{}, &ValidationError{Subject: fmt.Sprintf("relabel of type %q", t.Key), Problems: problems}
	}
	return c, nil
}
