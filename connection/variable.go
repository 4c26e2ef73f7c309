package connection

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Visibility says who sees and sets a field of a connection config variable.
type Visibility string

// The visibilities. The zero value (a field a variable does not list) means
// Customer, except for the endpoint fields of an OAuth 2.0 type, which are
// Hidden unless listed (see [Variable.VisibilityOf]).
const (
	// Customer fields are shown to the customer and editable by them.
	Customer Visibility = "customer"
	// Embedded fields are not shown to the customer; the host application
	// sets them programmatically.
	Embedded Visibility = "embedded"
	// Hidden fields are never shown to or settable by customers or through an
	// instance; their value comes from a default or a template.
	Hidden Visibility = "hidden"
)

// valid reports whether v is a known visibility; "" means Customer.
func (v Visibility) valid() bool {
	switch v {
	case "", Customer, Embedded, Hidden:
		return true
	}
	return false
}

// Level says whether a variable's connection is shared by the whole instance
// or held once per user of the instance.
type Level string

// The levels. The zero value means InstanceLevel.
const (
	// InstanceLevel: one connection shared by every user of the instance.
	InstanceLevel Level = "instance"
	// UserLevel: one connection per user of the instance.
	UserLevel Level = "user"
)

// Variable is a connection config variable of an integration: a slot bound to
// one connection type that many steps share. Per field it carries a default
// and a visibility; it may reference a template whose values pre-fill (and
// hide) some fields, and it may name custom pages to send the browser to
// after an OAuth 2.0 callback.
//
// Build a Variable as a literal and pass it to [DeclareVariable].
type Variable struct {
	// Key identifies the variable within its integration, such as
	// "Acme Connection": 1 to 256 bytes of printable UTF-8.
	Key string `json:"key" yaml:"key"`
	// Type is the connection type the variable binds. [DeclareVariable]
	// normalizes it as [Declare] does.
	Type Type `json:"type" yaml:"type"`
	// Defaults are per-field defaults that override the type's defaults.
	// They may hold secrets, so they are not JSON or YAML encoded with the
	// variable; a store seals them like any secret value.
	Defaults Values `json:"-" yaml:"-"`
	// Visibility maps field keys to visibilities. A field not listed is
	// Customer, except the OAuth 2.0 endpoint fields, which are Hidden
	// (see [Variable.VisibilityOf]).
	Visibility map[string]Visibility `json:"visibility,omitempty" yaml:"visibility,omitempty"`
	// Template is the id of a connection template, or "".
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	// SuccessRedirect is an absolute http(s) URL, without user information or
	// fragment, that the browser is sent to after a successful OAuth 2.0
	// callback; "" shows connkit's own page.
	SuccessRedirect string `json:"successRedirect,omitempty" yaml:"successRedirect,omitempty"`
	// FailureRedirect is the same for a failed callback.
	FailureRedirect string `json:"failureRedirect,omitempty" yaml:"failureRedirect,omitempty"`
	// Level is InstanceLevel (the zero value) or UserLevel.
	Level Level `json:"level,omitempty" yaml:"level,omitempty"`
}

// VisibilityOf returns the visibility of a field: the one listed in
// Visibility, else the field's default visibility.
//
// The default is Customer for every field but the OAuth 2.0 endpoints of a
// type with OAuth2 settings: [FieldAuthorizeURL], [FieldTokenURL] and
// [FieldRevokeURL] are Hidden unless the variable lists them. The token
// and revocation endpoints receive the client secret, the authorization code,
// the PKCE verifier and the refresh tokens, so a customer who could set
// them could collect the host's client secret and other people's grants.
// A variable lists such a field as Customer (or Embedded) only on purpose,
// for example for a provider whose customers bring their own OAuth client:
// connkit then refuses a customer-set endpoint unless the customer also
// set the client secret (see the oauth package). Tenant-specific hosts are
// better served by a URL template in the type's default
// ("https://{shop}.myshopify.com/...", see [ExpandURL]).
//
// [FieldClientID] and [FieldClientSecret] stay Customer by default: a
// customer may bring their own OAuth client. A host that provides the
// client through a default or a template hides them (a template-filled
// field is never settable anyway).
func (v *Variable) VisibilityOf(field string) Visibility {
	if vis := v.Visibility[field]; vis != "" {
		return vis
	}
	if v.Type.OAuth2 != nil && isEndpointField(field) {
		return Hidden
	}
	return Customer
}

// isEndpointField reports whether key is one of the standard OAuth 2.0
// endpoint fields, which are Hidden unless a variable lists them.
func isEndpointField(key string) bool {
	return key == FieldAuthorizeURL || key == FieldTokenURL || key == FieldRevokeURL
}

// LevelOrDefault returns Level, or InstanceLevel when empty.
func (v *Variable) LevelOrDefault() Level {
	if v.Level == "" {
		return InstanceLevel
	}
	return v.Level
}

// Clone returns a deep copy of v.
func (v Variable) Clone() Variable {
	v.Type = v.Type.Clone()
	v.Defaults = v.Defaults.Clone()
	v.Visibility = maps.Clone(v.Visibility)
	return v
}

// Validate checks the variable and its (normalized) type and reports every
// problem at once in a *[ValidationError]. Problem keys are paths: "key",
// "type.<...>" for the type's own problems (see [Type.Validate]),
// "visibility.<field>" for a visibility of a field the type does not have, an
// unknown visibility, or a required field the variable lists as Hidden that
// nothing fills (no type default, no variable default, no template),
// "defaults.<field>" for a default
// of a field the type does not have or one that fails its field's kind or
// rule, "successRedirect" and "failureRedirect" for a redirect URI that is not
// an absolute http(s) URL without user information or fragment, and "level".
// v is not modified.
//
// An OAuth 2.0 endpoint field that is Hidden only by default (see
// [Variable.VisibilityOf]) is not held to the "nothing fills it" rule: it
// is usually filled by the type's default URL, and a type whose endpoints
// come from authorization server metadata (discovery) declares required
// endpoint fields that nothing but the metadata fills. When neither fills
// it, CONNECT fails with a misconfiguration naming the field. To let the
// customer (or the host) fill it instead, list it as Customer (or
// Embedded).
func (v *Variable) Validate() error {
	p := &problems{subject: fmt.Sprintf("variable %q", v.Key)}
	if v.Key == "" || len(v.Key) > 256 || !utf8.ValidString(v.Key) || strings.IndexFunc(v.Key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		p.add("key", "", "variable key must be 1 to 256 bytes of printable UTF-8")
	}
	t := v.Type.Clone()
	t.normalize()
	t.validateInto(p, "type.")
	for _, k := range slices.Sorted(maps.Keys(v.Visibility)) {
		vis := v.Visibility[k]
		f, ok := t.Field(k)
		switch {
		case !ok:
			p.add("visibility."+k, "", "visibility given for a field the type does not have")
		case !vis.valid():
			p.add("visibility."+k, f.DisplayLabel(), fmt.Sprintf("unknown visibility %q", vis))
		}
	}
	for _, k := range v.Defaults.Keys() {
		f, ok := t.Field(k)
		if !ok {
			p.add("defaults."+k, "", "default given for a field the type does not have")
			continue
		}
		if d := v.Defaults.String(k); d != "" {
			if reason := checkValue(f, d); reason != "" {
				p.add("defaults."+k, f.DisplayLabel(), "default "+reason)
			}
		}
	}
	if v.Template == "" {
		for _, f := range t.Fields {
			// Only an explicit Hidden: see the doc comment for the
			// endpoint fields that are Hidden by default.
			if f.Required && v.Visibility[f.Key] == Hidden && f.Default == "" && v.Defaults.String(f.Key) == "" {
				p.add("visibility."+f.Key, f.DisplayLabel(), "required hidden field has no default and no template")
			}
		}
	}
	for _, r := range [...]struct{ name, v string }{{"successRedirect", v.SuccessRedirect}, {"failureRedirect", v.FailureRedirect}} {
		if r.v == "" {
			continue
		}
		if reason := checkRedirect(r.v); reason != "" {
			p.add(r.name, "", reason)
		}
	}
	switch v.Level {
	case "", InstanceLevel, UserLevel:
	default:
		p.add("level", "", fmt.Sprintf("unknown level %q", v.Level))
	}
	return p.err()
}

// DeclareVariable checks a variable and returns a deep copy to use, with its
// type normalized as [Declare] does. Every problem is reported at once in a
// *[ValidationError] (see [Variable.Validate]). v is not modified.
func DeclareVariable(v Variable) (Variable, error) {
	if err := v.Validate(); err != nil {
		return Variable{}, err
	}
	c := v.Clone()
	c.Type.normalize()
	return c, nil
}

// checkRedirect validates a custom redirect URI: absolute http(s), a host, no
// user information, no fragment. Checked when a variable is declared so the
// callback can never be turned into an open redirect to another scheme.
func checkRedirect(s string) string {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "redirect URI must be an absolute URL"
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "redirect URI must use http or https"
	}
	if u.User != nil {
		return "redirect URI must not contain user information"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "redirect URI must not contain a fragment"
	}
	return ""
}
