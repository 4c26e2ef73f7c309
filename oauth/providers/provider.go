package providers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
)

// Category groups providers in listings.
type Category string

// The categories.
const (
	CategoryAI            Category = "AI"
	CategoryCommerce      Category = "Commerce and payments"
	CategoryCommunication Category = "Communication"
	CategoryCRM           Category = "CRM and support"
	CategoryDev           Category = "Developer tools"
	CategoryFinance       Category = "Accounting"
	CategoryIdentity      Category = "Identity"
	CategoryMarketing     Category = "Marketing and social"
	CategoryProductivity  Category = "Productivity"
	CategoryStorage       Category = "Files and documents"
)

// LongLived is the lifetime assumed for the access tokens of providers that
// issue tokens without expires_in that do not expire (GitHub OAuth apps,
// Slack without token rotation, Notion, Shopify offline tokens, ...). Such
// a token is used until the provider rejects it; a connection without a
// refresh token then has to be connected again.
const LongLived = 10 * 365 * 24 * time.Hour

// Provider is one catalog entry: a service and the connection type that
// reaches it.
//
// In the entries given to [NewCatalog], [Catalog.Add] and [Catalog.Set],
// Type may be a literal that is not yet declared; its Key and Label default
// to the provider's Key and Name. Providers returned by a Catalog carry the
// declared type, ready to bind to a [connection.Variable], and are copies:
// changing one does not change the catalog.
type Provider struct {
	// Key identifies the provider in a catalog and is the key of its
	// connection type, such as "google" or "salesforce-sandbox". It must
	// satisfy [connection.ValidKey].
	Key string
	// Name is the display name, such as "Microsoft Entra ID".
	Name string
	// Category groups the provider in listings.
	Category Category
	// DocsURL is the provider's documentation of how to authenticate.
	DocsURL string
	// APIBaseURL is the base URL of the provider's API, "" when it is only
	// known after connecting (Salesforce's instance_url, Pipedrive's
	// api_domain: see the type's TokenResponseFields). It may be a URL
	// template over the type's fields; see [Provider.BaseURL].
	APIBaseURL string
	// Type is the connection type: its fields (client id and secret, API
	// key, tenant fields), OAuth 2.0 settings and request authentication.
	Type connection.Type
	// RotatesRefreshTokens says that the provider answers a refresh with a
	// new refresh token and invalidates the one presented (at once or after
	// a grace period). connkit always stores the refresh token a response
	// carries before the new access token is used, and refreshes each
	// connection once at a time across replicas, so this needs no setting;
	// it tells a host that losing a refresh response loses the connection,
	// and that a refresh token copied elsewhere stops working.
	RotatesRefreshTokens bool
	// Notes are what the settings cannot express: steps after connecting,
	// API quirks, and facts that could not be confirmed and were therefore
	// left out of the settings.
	Notes []string
}

// clone returns a deep copy of p.
func (p Provider) clone() Provider {
	p.Type = p.Type.Clone()
	p.Notes = slices.Clone(p.Notes)
	return p
}

// WithOAuth2 returns a copy of p whose OAuth 2.0 settings edit has changed,
// to pass to [Catalog.Set]: to ask for other scopes, use another endpoint
// (a sandbox) or another lifetime. The standard fields that a declaration
// derives from the settings (client id and secret, URLs, scopes) are dropped
// from the copy so that the next declaration derives them afresh; the
// provider's own fields (tenant parts, API keys) stay. For a provider
// without OAuth 2.0, edit is given new, empty settings.
func (p Provider) WithOAuth2(edit func(o *connection.OAuth2)) Provider {
	c := p.clone()
	if c.Type.OAuth2 == nil {
		c.Type.OAuth2 = &connection.OAuth2{}
	}
	edit(c.Type.OAuth2)
	std := []string{connection.FieldClientID, connection.FieldClientSecret, connection.FieldAuthorizeURL,
		connection.FieldTokenURL, connection.FieldRevokeURL, connection.FieldScopes}
	c.Type.Fields = slices.DeleteFunc(c.Type.Fields, func(f connection.Field) bool { return slices.Contains(std, f.Key) })
	return c
}

// IsOAuth2 reports whether the provider uses OAuth 2.0.
func (p *Provider) IsOAuth2() bool { return p.Type.OAuth2 != nil }

// AuthSummary describes how connections authenticate, such as "OAuth 2.0",
// "OAuth 2.0 client credentials", "API key (X-Api-Key header)" or "Basic".
func (p *Provider) AuthSummary() string {
	if o := p.Type.OAuth2; o != nil {
		if o.GrantOrDefault() == connection.GrantClientCredentials {
			return "OAuth 2.0 client credentials"
		}
		return "OAuth 2.0"
	}
	a := p.Type.Auth
	switch a.Method {
	case connection.AuthHeader:
		if strings.EqualFold(a.Header, "Authorization") {
			return fmt.Sprintf("API key (Authorization: %s…)", a.Prefix)
		}
		return fmt.Sprintf("API key (%s header)", a.Header)
	case connection.AuthQuery:
		return fmt.Sprintf("API key (%s query parameter)", a.Param)
	case connection.AuthBasic:
		return "Basic"
	}
	return string(a.Method)
}

// PKCE returns the PKCE method used, "" for a type without OAuth 2.0 or
// with the client credentials grant.
func (p *Provider) PKCE() connection.PKCEMethod {
	o := p.Type.OAuth2
	if o == nil || o.GrantOrDefault() != connection.GrantAuthorizationCode {
		return ""
	}
	return o.PKCEOrDefault()
}

// TenantFields returns the keys of the fields that the provider's URL
// templates (OAuth 2.0 endpoints and APIBaseURL) are filled in with, in
// order of first appearance.
func (p *Provider) TenantFields() []string {
	var keys []string
	add := func(tmpl string) {
		for _, k := range connection.URLTemplateKeys(tmpl) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if o := p.Type.OAuth2; o != nil {
		add(o.AuthorizeURL)
		add(o.TokenURL)
		add(o.RevokeURL)
	}
	for _, f := range p.Type.Fields {
		if f.Kind == connection.KindURL {
			add(f.Default)
		}
	}
	add(p.APIBaseURL)
	return keys
}

// BaseURL returns APIBaseURL with its placeholders filled in from a
// connection's values (see [connection.ExpandURL]), and
// [connection.ErrInvalid] when the provider declares none.
func (p *Provider) BaseURL(v connection.Values) (string, error) {
	if p.APIBaseURL == "" {
		return "", fmt.Errorf("providers: %s has no fixed API base URL: %w", p.Key, connection.ErrInvalid)
	}
	return connection.ExpandURL(p.APIBaseURL, &p.Type, v)
}

// Quirks lists in words what sets the provider apart from plain OAuth 2.0
// (or, for API-key services, what to know), followed by its Notes. It is
// what docs/providers.md shows.
func (p *Provider) Quirks() []string {
	var q []string
	if keys := p.TenantFields(); len(keys) > 0 {
		q = append(q, "tenant URL from "+braced(keys))
	}
	if o := p.Type.OAuth2; o != nil {
		if o.ScopeSeparator != "" && o.ScopeSeparator != " " {
			q = append(q, fmt.Sprintf("scopes joined with %q", o.ScopeSeparator))
		}
		if len(o.AuthorizeParams) > 0 {
			q = append(q, "authorize with "+params(o.AuthorizeParams))
		}
		if len(o.TokenParams) > 0 {
			q = append(q, "token requests with "+params(o.TokenParams))
		}
		switch d := o.DefaultTokenLifetime; {
		case d >= LongLived:
			q = append(q, "access tokens do not expire (no expires_in)")
		case d > 0:
			q = append(q, "no expires_in: lifetime assumed "+human(d))
		}
		if len(o.TokenPath) > 0 {
			q = append(q, "token set nested under "+strings.Join(o.TokenPath, "."))
		}
		if len(o.TokenResponseFields) > 0 {
			q = append(q, "keeps token response "+strings.Join(o.TokenResponseFields, ", "))
		}
		if len(o.CallbackParams) > 0 {
			q = append(q, "keeps callback "+strings.Join(o.CallbackParams, ", "))
		}
		if o.RevokeURL == "" {
			q = append(q, "no RFC 7009 revocation")
		}
	}
	return append(q, p.Notes...)
}

// human formats whole hours or minutes without trailing zero units.
func human(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func braced(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "{" + k + "}"
	}
	return strings.Join(out, ", ")
}

func params(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}
