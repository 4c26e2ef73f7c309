package connection

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var keyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)

// ValidKey reports whether s can be used as a type or field key: a letter,
// then up to 127 letters, digits, '_', '.' or '-'.
func ValidKey(s string) bool { return keyPattern.MatchString(s) }

// Validate reports the problems [Declare] would report for t, all at once in
// a *[ValidationError], or nil. It checks a normalized copy, so it accepts a
// type literal as well as a declared type; t is not modified.
func (t *Type) Validate() error {
	c := t.Clone()
	c.normalize()
	p := &problems{subject: fmt.Sprintf("type %q", t.Key)}
	c.validateInto(p, "")
	return p.err()
}

// validateInto checks a normalized type, adding problems whose keys start
// with prefix.
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
		key = prefix + key
		label := f.DisplayLabel()
		switch {
		case !ValidKey(f.Key):
			p.add(key, label, "field key must match "+keyPattern.String())
		case seen[f.Key]:
			p.add(key, label, "duplicate field key")
		}
		seen[f.Key] = true
		if !f.Kind.valid() {
			p.add(key, label, fmt.Sprintf("unknown kind %q", f.Kind))
			continue
		}
		if f.Kind == KindChoice && len(f.Choices) == 0 {
			p.add(key, label, "a choice field needs choices")
			continue
		}
		if err := checkRule(f.Kind, f.Rule); err != nil {
			p.add(key, label, err.Error())
			continue
		}
		if f.Default != "" {
			if reason := t.checkDefault(f); reason != "" {
				p.add(key, label, "default "+reason)
			}
		}
	}
	t.validateOAuth2(p, prefix)
	t.validateAuth(p, prefix)
}

// Parameters connkit sets itself in authorize and token requests; a type may
// not override them through AuthorizeParams or TokenParams.
var (
	reservedAuthorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}
	reservedTokenParams     = []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "client_id", "client_secret", "scope"}
)

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
	// The URLs and scopes of the settings are the defaults of the standard
	// fields (see addOAuth2Fields), whose kind checks them. A field declared
	// with another default would make the setting dead: refuse that.
	for _, s := range [...]struct{ name, field, v string }{
		{"authorizeUrl", FieldAuthorizeURL, o.AuthorizeURL},
		{"tokenUrl", FieldTokenURL, o.TokenURL},
		{"revokeUrl", FieldRevokeURL, o.RevokeURL},
		{"scopes", FieldScopes, strings.Join(o.Scopes, o.SeparatorOrDefault())},
	} {
		if f, ok := t.Field(s.field); ok && s.v != "" && f.Default != s.v {
			p.add(pre+s.name, "", fmt.Sprintf("conflicts with the default of field %q", s.field))
		}
	}
	for _, key := range []string{FieldAuthorizeURL, FieldTokenURL, FieldRevokeURL} {
		if f, ok := t.Field(key); ok && f.Kind != KindURL {
			p.add(prefix+key, f.DisplayLabel(), "must be of kind url")
		}
	}
	// The token URL may come from the settings or, for tenant-specific
	// providers, from a declared field that a template, default or the
	// customer fills in.
	if !hasSource(t, FieldTokenURL) {
		p.add(pre+"tokenUrl", "", fmt.Sprintf("an OAuth 2.0 type needs a token URL, or a required field %q", FieldTokenURL))
	}
	if o.GrantOrDefault() == GrantAuthorizationCode && !hasSource(t, FieldAuthorizeURL) {
		p.add(pre+"authorizeUrl", "", fmt.Sprintf("the authorization code grant needs an authorize URL, or a required field %q", FieldAuthorizeURL))
	}
	checkParams := func(name string, params map[string]string, reserved []string) {
		for _, k := range slices.Sorted(maps.Keys(params)) {
			switch {
			case k == "":
				p.add(pre+name, "", "parameter name must not be empty")
			case slices.Contains(reserved, k):
				p.add(pre+name, "", fmt.Sprintf("parameter %q is set by connkit and cannot be overridden", k))
			}
		}
	}
	if slices.Contains(o.TokenPath, "") {
		p.add(pre+"tokenPath", "", "names an empty member")
	}
	checkParams("authorizeParams", o.AuthorizeParams, reservedAuthorizeParams)
	checkParams("tokenParams", o.TokenParams, reservedTokenParams)
	checkMetadataNames(p, pre+"tokenResponseFields", o.TokenResponseFields)
	checkMetadataNames(p, pre+"callbackParams", o.CallbackParams)
}

// Names TokenResponseFields and CallbackParams may not use: what they name is
// copied into the connection's metadata, which is stored in plaintext, so
// they must never name a credential. The standard token members and the
// authorization response's code and state are refused by name, anything
// that looks like a credential by pattern.
var (
	secretMetadataNames   = []string{"access_token", "refresh_token", "id_token", "code", "state"}
	secretMetadataPattern = regexp.MustCompile(`(?i)token|secret|password|assertion|verifier`)
)

// checkMetadataNames refuses names of secret response members or callback
// parameters (see secretMetadataNames) and empty names.
func checkMetadataNames(p *problems, key string, names []string) {
	for _, n := range names {
		switch {
		case n == "":
			p.add(key, "", "names an empty member")
		case slices.Contains(secretMetadataNames, strings.ToLower(n)) || secretMetadataPattern.MatchString(n):
			p.add(key, "", fmt.Sprintf("%q may hold a credential, which must not be kept in the connection's plaintext metadata", n))
		}
	}
}

// hasSource reports whether the type has the field and something will give
// it a value: its default, or a required value from a template, a variable
// default or the customer.
func hasSource(t *Type, key string) bool {
	f, ok := t.Field(key)
	return ok && (f.Default != "" || f.Required)
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
		if !validToken(a.Header) {
			p.add(pre+"header", "", "auth method header needs a valid header name")
		}
		if strings.ContainsAny(a.Prefix, "\r\n\x00") {
			p.add(pre+"prefix", "", "must not contain line breaks or NUL")
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

// validToken reports whether s is an RFC 9110 token, as a header name must be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// ValidateValues checks resolved values against the type: every required
// field has a value, every value satisfies its field's kind, choices and rule,
// and no value is given for a field the type does not have. Every problem is
// reported at once in a *[ValidationError] whose keys are field keys; no
// value appears in it. Validate values after resolution (defaults, template,
// instance values), so required fields filled by a lower layer count.
func (t *Type) ValidateValues(v Values) error {
	p := &problems{subject: fmt.Sprintf("values of type %q", t.Key)}
	for _, f := range t.Fields {
		s := v.String(f.Key)
		if s == "" {
			if f.Required {
				p.add(f.Key, f.DisplayLabel(), "is required")
			}
			continue
		}
		if reason := t.checkResolved(f, s); reason != "" {
			p.add(f.Key, f.DisplayLabel(), reason)
		}
	}
	t.checkTemplateValues(v, p)
	for _, k := range v.Keys() {
		if !t.HasField(k) {
			p.add(k, "", "the type has no such field")
		}
	}
	return p.err()
}

// ValidateValue checks one value against a field's kind, choices and rule; an
// empty value is valid (emptiness is a matter of Required). It returns a
// *[ValidationError] or nil.
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
