package connection

import (
	"maps"
	"slices"
	"time"
)

// GrantType is the OAuth 2.0 grant a type uses to obtain tokens.
type GrantType string

// The supported grants.
const (
	// GrantAuthorizationCode is the browser-based flow (RFC 6749 section 4.1)
	// that CONNECT starts; it yields a refresh token to keep.
	GrantAuthorizationCode GrantType = "authorization_code"
	// GrantClientCredentials obtains tokens with the client's own credentials,
	// without a browser (RFC 6749 section 4.4).
	GrantClientCredentials GrantType = "client_credentials"
)

// PKCEMethod is the code challenge method of RFC 7636.
type PKCEMethod string

// The PKCE methods. The zero value means PKCES256.
const (
	// PKCES256 sends the SHA-256 of the verifier (the default).
	PKCES256 PKCEMethod = "S256"
	// PKCEPlain sends the verifier itself, for providers without S256.
	PKCEPlain PKCEMethod = "plain"
	// PKCEOff sends no code challenge, for providers that reject one.
	PKCEOff PKCEMethod = "off"
)

// ClientAuthStyle is how the client authenticates at the token endpoint.
// connkit uses exactly the declared style and never tries the other one.
type ClientAuthStyle string

// The client authentication styles. The zero value means ClientAuthBasic.
const (
	// ClientAuthBasic sends client id and secret in an HTTP Basic header
	// (client_secret_basic).
	ClientAuthBasic ClientAuthStyle = "basic"
	// ClientAuthBody sends them as form parameters (client_secret_post).
	ClientAuthBody ClientAuthStyle = "body"
)

// Keys of the fields that hold an OAuth 2.0 type's client credentials, URLs
// and scopes. [Declare] adds any of them a type with OAuth2 settings does not
// declare itself, so templates, defaults and visibility apply to them like to
// any other field.
const (
	FieldClientID     = "clientId"
	FieldClientSecret = "clientSecret"
	FieldAuthorizeURL = "authorizeUrl"
	FieldTokenURL     = "tokenUrl"
	FieldRevokeURL    = "revokeUrl"
	FieldScopes       = "scopes"
)

// OAuth2 holds a type's OAuth 2.0 settings. The URLs and scopes given here
// become the defaults of the standard fields (FieldAuthorizeURL, ...), so a
// template, a variable default or, where visible, the customer can override
// them per connection.
type OAuth2 struct {
	// Grant is the grant type; empty means GrantAuthorizationCode.
	Grant GrantType `json:"grant,omitempty" yaml:"grant,omitempty"`
	// AuthorizeURL is the authorization endpoint (authorization code grant).
	AuthorizeURL string `json:"authorizeUrl,omitempty" yaml:"authorizeUrl,omitempty"`
	// TokenURL is the token endpoint. Required, here or as the default of a
	// required FieldTokenURL field.
	TokenURL string `json:"tokenUrl,omitempty" yaml:"tokenUrl,omitempty"`
	// RevokeURL is the RFC 7009 revocation endpoint; empty means the
	// provider offers none and DISCONNECT only deletes tokens locally.
	RevokeURL string `json:"revokeUrl,omitempty" yaml:"revokeUrl,omitempty"`
	// Scopes are the default scopes.
	Scopes []string `json:"scopes,omitempty" yaml:"scopes,omitempty"`
	// ScopeSeparator joins scopes in the authorize request; empty means " ".
	ScopeSeparator string `json:"scopeSeparator,omitempty" yaml:"scopeSeparator,omitempty"`
	// ScopesOverridable lets a connection replace the default scopes through
	// the FieldScopes value.
	ScopesOverridable bool `json:"scopesOverridable,omitempty" yaml:"scopesOverridable,omitempty"`
	// PKCE is the code challenge method; empty means PKCES256.
	PKCE PKCEMethod `json:"pkce,omitempty" yaml:"pkce,omitempty"`
	// ClientAuth is how the client authenticates at the token endpoint;
	// empty means ClientAuthBasic.
	ClientAuth ClientAuthStyle `json:"clientAuth,omitempty" yaml:"clientAuth,omitempty"`
	// AuthorizeParams are extra parameters of the authorize request (for
	// example Google's access_type=offline and prompt=consent).
	AuthorizeParams map[string]string `json:"authorizeParams,omitempty" yaml:"authorizeParams,omitempty"`
	// TokenParams are extra parameters of every token request.
	TokenParams map[string]string `json:"tokenParams,omitempty" yaml:"tokenParams,omitempty"`
	// DefaultTokenLifetime is assumed for access tokens whose response has
	// no expires_in; zero means one hour. A token is never valid forever.
	DefaultTokenLifetime time.Duration `json:"defaultTokenLifetime,omitempty" yaml:"defaultTokenLifetime,omitempty"`
	// RefreshLeeway is how long before expiry a token is refreshed; zero means
	// the smaller of 5 minutes and 10% of the token's lifetime.
	RefreshLeeway time.Duration `json:"refreshLeeway,omitempty" yaml:"refreshLeeway,omitempty"`
	// TokenResponseFields names extra, non-secret token response fields to
	// keep in the connection's metadata (for example Salesforce's
	// instance_url). The metadata is stored in plaintext, so [Declare]
	// refuses access_token, refresh_token, id_token, code, state and any
	// name containing token, secret, password, assertion or verifier (in
	// any case).
	TokenResponseFields []string `json:"tokenResponseFields,omitempty" yaml:"tokenResponseFields,omitempty"`
	// CallbackParams names extra, non-secret callback query parameters to
	// keep in the connection's metadata (for example QuickBooks' realmId).
	// The same names as for TokenResponseFields are refused.
	CallbackParams []string `json:"callbackParams,omitempty" yaml:"callbackParams,omitempty"`
	// TokenPath, when set, names the JSON object of the token response
	// that holds the token set, for providers that nest it: Slack's user
	// token is under ["authed_user"]. The standard members of the top level
	// (access_token, refresh_token, expires_in, token_type, scope, ...) are
	// dropped, even when the object is missing, so that a token at the top
	// level (Slack's bot token) is never taken for the nested one; then the
	// members of the object are merged into the top level, replacing those
	// of the same name. Other top-level members stay, for
	// TokenResponseFields.
	TokenPath []string `json:"tokenPath,omitempty" yaml:"tokenPath,omitempty"`
}

// DefaultLifetime is used when neither the provider nor the type says how long
// an access token lives.
const DefaultLifetime = time.Hour

// GrantOrDefault returns Grant, or GrantAuthorizationCode when empty.
func (o *OAuth2) GrantOrDefault() GrantType {
	if o.Grant == "" {
		return GrantAuthorizationCode
	}
	return o.Grant
}

// PKCEOrDefault returns PKCE, or PKCES256 when empty.
func (o *OAuth2) PKCEOrDefault() PKCEMethod {
	if o.PKCE == "" {
		return PKCES256
	}
	return o.PKCE
}

// ClientAuthOrDefault returns ClientAuth, or ClientAuthBasic when empty.
func (o *OAuth2) ClientAuthOrDefault() ClientAuthStyle {
	if o.ClientAuth == "" {
		return ClientAuthBasic
	}
	return o.ClientAuth
}

// SeparatorOrDefault returns ScopeSeparator, or " " when empty.
func (o *OAuth2) SeparatorOrDefault() string {
	if o.ScopeSeparator == "" {
		return " "
	}
	return o.ScopeSeparator
}

// LifetimeOrDefault returns DefaultTokenLifetime, or [DefaultLifetime].
func (o *OAuth2) LifetimeOrDefault() time.Duration {
	if o.DefaultTokenLifetime <= 0 {
		return DefaultLifetime
	}
	return o.DefaultTokenLifetime
}

// Leeway returns how long before expiry a token with the given lifetime
// should be refreshed: RefreshLeeway when set, else the smaller of 5 minutes
// and 10% of the lifetime.
func (o *OAuth2) Leeway(lifetime time.Duration) time.Duration {
	if o != nil && o.RefreshLeeway > 0 {
		return o.RefreshLeeway
	}
	return min(5*time.Minute, lifetime/10)
}

// Clone returns a deep copy of o (nil for nil).
func (o *OAuth2) Clone() *OAuth2 { return o.clone() }

func (o *OAuth2) clone() *OAuth2 {
	if o == nil {
		return nil
	}
	c := *o
	c.Scopes = slices.Clone(o.Scopes)
	c.TokenResponseFields = slices.Clone(o.TokenResponseFields)
	c.CallbackParams = slices.Clone(o.CallbackParams)
	c.TokenPath = slices.Clone(o.TokenPath)
	c.AuthorizeParams = maps.Clone(o.AuthorizeParams)
	c.TokenParams = maps.Clone(o.TokenParams)
	return &c
}
