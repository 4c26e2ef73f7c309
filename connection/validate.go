package connection

import (
	"fmt"
	"regexp"
)

var keyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)

// ValidKey reports whether s can be used as a type, field or variable key.
func ValidKey(s string) bool { return keyPattern.MatchString(s) }

// Validate checks a type as declared and reports every problem at once in a
// *[ValidationError]. [Declare] normalizes a type before validating it, so
// most callers want Declare.
func (t *Type) Validate() error {
	p := &problems{subject: fmt.Sprintf("type %q", t.Key)}
	t.validateInto(p, "")
	return p.err()
}

func (t *Type) validateInto(p *problems, prefix string) {
	if !ValidKey(t.Key) {
		p.add(prefix+"key", "", "type key must match "+keyPattern.String())
	}
	seen := make(map[string]bool, len(t.Fields))
	for i, f := range t.Fields {
		key := f.Key
		if key == "" {
			key = fmt.Sprintf("fields[%d]", i)
		}
		switch {
		case !ValidKey(f.Key):
			p.add(prefix+key, f.Label, "field key must match "+keyPattern.String())
		case seen[f.Key]:
			p.add(prefix+key, f.Label, "duplicate field key")
		}
		seen[f.Key] = true
		if !f.Kind.valid() {
			p.add(prefix+key, f.Label, fmt.Sprintf("unknown kind %q", f.Kind))
			continue
		}
		if f.Kind == KindChoice && len(f.Choices) == 0 {
			p.add(prefix+key, f.Label, "a choice field needs choices")
		}
		if err := checkRule(f.Rule); err != nil {
			p.add(prefix+key, f.Label, err.Error())
			continue
		}
		if f.Default != "" {
			if reason := checkValue(f, f.Default); reason != "" {
				p.add(prefix+key, f.Label, "default "+reason)
			}
		}
	}
	t.validateOAuth2(p, prefix)
	t.validateAuth(p, prefix)
}

func (t *Type) validateOAuth2(p *problems, prefix string) {
	o := t.OAuth2
	if o == nil {
		return
	}
	pre := prefix + "oauth2."
	switch o.Grant {
	case "", GrantAuthorizationCode, GrantClientCredentials:
	default:
		p.add(pre+"grant", "", fmt.Sprintf("unknown grant type %q", o.Grant))
	}
	switch o.PKCE {
	case "", PKCES256, PKCEPlain, PKCEOff:
	default:
		p.add(pre+"pkce", "", fmt.Sprintf("unknown PKCE method %q", o.PKCE))
	}
	switch o.ClientAuth {
	case "", ClientAuthBasic, ClientAuthBody:
	default:
		p.add(pre+"clientAuth", "", fmt.Sprintf("unknown client authentication style %q", o.ClientAuth))
	}
	if o.DefaultTokenLifetime < 0 {
		p.add(pre+"defaultTokenLifetime", "", "must not be negative")
	}
	if o.RefreshLeeway < 0 {
		p.add(pre+"refreshLeeway", "", "must not be negative")
	}
	for _, u := range [...]struct{ name, v string }{
		{"authorizeUrl", o.AuthorizeURL}, {"tokenUrl", o.TokenURL}, {"revokeUrl", o.RevokeURL},
	} {
		if reason := checkURL(u.v); u.v != "" && reason != "" {
			p.add(pre+u.name, "", reason)
		}
	}
	// The token URL may come from the type or, for tenant-specific providers,
	// from a required field that a template, default or customer fills in.
	if tf, ok := t.Field(FieldTokenURL); !ok || (tf.Default == "" && !tf.Required) {
		p.add(pre+"tokenUrl", "", "an OAuth 2.0 type needs a token URL")
	}
	if o.GrantOrDefault() == GrantAuthorizationCode {
		if af, ok := t.Field(FieldAuthorizeURL); !ok || (af.Default == "" && !af.Required) {
			p.add(pre+"authorizeUrl", "", "the authorization code grant needs an authorize URL")
		}
	}
	if !t.HasField(FieldClientID) {
		p.add(pre+FieldClientID, "", "an OAuth 2.0 type needs a client id field")
	}
}

func (t *Type) validateAuth(p *problems, prefix string) {
	a := t.Auth
	pre := prefix + "auth."
	needField := func(name, key string) {
		switch {
		case key == "":
			p.add(pre+name, "", "required for auth method "+string(a.Method))
		case !t.HasField(key):
			p.add(pre+name, "", fmt.Sprintf("names field %q, which the type does not have", key))
		}
	}
	switch a.Method {
	case "", AuthNone:
	case AuthBearer:
		if t.OAuth2 == nil {
			p.add(pre+"method", "", "bearer authentication needs OAuth 2.0 settings")
		}
	case AuthHeader:
		needField("field", a.Field)
		if a.Header == "" {
			p.add(pre+"header", "", "required for auth method header")
		}
	case AuthQuery:
		needField("field", a.Field)
		if a.Param == "" {
			p.add(pre+"param", "", "required for auth method query")
		}
	case AuthBasic:
		needField("usernameField", a.UsernameField)
		needField("passwordField", a.PasswordField)
	default:
		p.add(pre+"method", "", fmt.Sprintf("unknown auth method %q", a.Method))
	}
}

// ValidateValues checks resolved values against the type: every required
// field has a value, every value satisfies its field's kind and rule, and no
// value is given for a field the type does not have. Every problem is
// reported at once in a *[ValidationError]; no value appears in it.
func (t *Type) ValidateValues(v Values) error {
	p := &problems{subject: fmt.Sprintf("values of type %q", t.Key)}
	for _, f := range t.Fields {
		s, ok := v.Lookup(f.Key)
		if !ok || s == "" {
			if f.Required {
				p.add(f.Key, f.DisplayLabel(), "is required")
			}
			continue
		}
		if reason := checkValue(f, s); reason != "" {
			p.add(f.Key, f.DisplayLabel(), reason)
		}
	}
	for _, k := range v.Keys() {
		if !t.HasField(k) {
			p.add(k, "", "the type has no such field")
		}
	}
	return p.err()
}

// ValidateValue checks one non-empty value against a field's kind and rule.
// It returns a *[ValidationError] or nil.
func (f Field) ValidateValue(v string) error {
	if v == "" {
		return nil
	}
	if reason := checkValue(f, v); reason != "" {
		return &ValidationError{Subject: fmt.Sprintf("field %q", f.Key),
			Problems: []FieldError{{Key: f.Key, Label: f.DisplayLabel(), Reason: reason}}}
	}
	return nil
}
