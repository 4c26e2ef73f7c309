package connection

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Visibility says who sees and sets a field of a connection config variable.
type Visibility string

// The visibilities. The zero value means Customer.
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
	InstanceLevel Level = "instance"
	UserLevel     Level = "user"
)

// Variable is a connection config variable of an integration: a slot bound to
// one connection type that many steps share. Per field it carries a default
// and a visibility; it may reference a template whose values pre-fill (and
// hide) some fields, and it may name custom pages to send the browser to
// after an OAuth 2.0 callback.
type Variable struct {
	// Key identifies the variable within its integration, such as
	// "Acme Connection". Any non-empty string of at most 256 bytes.
	Key string `json:"key" yaml:"key"`
	// Type is the connection type the variable binds (a declared Type).
	Type Type `json:"type" yaml:"type"`
	// Defaults are per-field defaults that override the type's defaults.
	// Secret defaults are sealed at rest like any secret value.
	Defaults Values `json:"-" yaml:"-"`
	// Visibility maps field keys to visibilities; a field not listed is
	// Customer.
	Visibility map[string]Visibility `json:"visibility,omitempty" yaml:"visibility,omitempty"`
	// Template is the id of a connection template, or "".
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	// SuccessRedirect and FailureRedirect are absolute http(s) URLs the
	// browser is sent to after an OAuth 2.0 callback; "" shows connkit's own
	// page.
	SuccessRedirect string `json:"successRedirect,omitempty" yaml:"successRedirect,omitempty"`
	FailureRedirect string `json:"failureRedirect,omitempty" yaml:"failureRedirect,omitempty"`
	// Level is InstanceLevel (the zero value) or UserLevel.
	Level Level `json:"level,omitempty" yaml:"level,omitempty"`
}

// VisibilityOf returns the visibility of a field, Customer when unset.
func (v *Variable) VisibilityOf(field string) Visibility {
	if vis := v.Visibility[field]; vis != "" {
		return vis
	}
	return Customer
}

// Clone returns a deep copy of v.
func (v Variable) Clone() Variable {
	v.Type = v.Type.Clone()
	v.Defaults = v.Defaults.Clone()
	v.Visibility = maps.Clone(v.Visibility)
	return v
}

// Validate checks the variable and its type and reports every problem at once
// in a *[ValidationError]: the type's own problems, visibilities and defaults
// for fields the type does not have, defaults that fail their field's rule,
// a hidden required field that nothing fills (no default, no template), and
// redirect URIs that are not absolute http(s) URLs without user information or
// fragment.
func (v *Variable) Validate() error {
	p := &problems{subject: fmt.Sprintf("variable %q", v.Key)}
	if v.Key == "" || len(v.Key) > 256 {
		p.add("key", "", "variable key must be 1 to 256 bytes")
	}
	v.Type.validateInto(p, "type.")
	for _, k := range slices.Sorted(maps.Keys(v.Visibility)) {
		vis := v.Visibility[k]
		f, ok := v.Type.Field(k)
		if !ok {
			p.add(k, "", "visibility given for a field the type does not have")
			continue
		}
		if !vis.valid() {
			p.add(k, f.DisplayLabel(), fmt.Sprintf("unknown visibility %q", vis))
		}
	}
	for _, k := range v.Defaults.Keys() {
		f, ok := v.Type.Field(k)
		if !ok {
			p.add(k, "", "default given for a field the type does not have")
			continue
		}
		if reason := checkValue(f, v.Defaults.String(k)); v.Defaults.String(k) != "" && reason != "" {
			p.add(k, f.DisplayLabel(), "default "+reason)
		}
	}
	if v.Template == "" {
		for _, f := range v.Type.Fields {
			if f.Required && v.VisibilityOf(f.Key) == Hidden && f.Default == "" && v.Defaults.String(f.Key) == "" {
				p.add(f.Key, f.DisplayLabel(), "required hidden field has no default and no template")
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

// DeclareVariable checks a variable and returns a deep copy to use.
func DeclareVariable(v Variable) (Variable, error) {
	c := v.Clone()
	if err := c.Validate(); err != nil {
		return Variable{}, err
	}
	return c, nil
}

// checkRedirect validates a custom redirect URI: absolute http(s), a host, no
// user information, no fragment. Checked when a variable is declared so the
// callback can never be turned into an open redirect.
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
