package providers_test

import (
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth/providers"
)

// A provider's type is ready to bind to a variable; its quirks are in its
// OAuth 2.0 settings.
func ExampleLookup() {
	p, _ := providers.Lookup("salesforce")
	o := p.Type.OAuth2
	fmt.Println(p.Name, "-", p.AuthSummary(), "- PKCE", p.PKCE())
	fmt.Println("token URL:", o.TokenURL)
	fmt.Println("assumed lifetime:", o.DefaultTokenLifetime)
	fmt.Println("kept:", o.TokenResponseFields)
	v := connection.Variable{Key: "Salesforce", Type: p.Type}
	fmt.Println("variable type:", v.Type.Key)
	// Output:
	// Salesforce - OAuth 2.0 - PKCE S256
	// token URL: https://login.salesforce.com/services/oauth2/token
	// assumed lifetime: 2h0m0s
	// kept: [instance_url id]
	// variable type: salesforce
}

// Tenant-specific URLs are filled in only with single DNS labels.
func ExampleProvider_BaseURL() {
	p, _ := providers.Lookup("shopify")
	fmt.Println(p.TenantFields())
	base, err := p.BaseURL(connection.ValuesOf(map[string]string{"shop": "acme"}))
	fmt.Println(base, err)
	_, err = p.BaseURL(connection.ValuesOf(map[string]string{"shop": "evil.com/x"}))
	fmt.Println(err)
	// Output:
	// [shop]
	// https://acme.myshopify.com/admin/api <nil>
	// connection: invalid URL template of type "shopify": shop (Shop): must be a single DNS label (letters, digits and inner hyphens, at most 63) to fill into a URL
}

// A host overrides a built-in entry in its own catalog, here to ask GitHub
// for more scopes, and adds its own provider.
func ExampleCatalog_Set() {
	c := providers.Default()
	gh, _ := c.Lookup("github")
	if err := c.Set(gh.WithOAuth2(func(o *connection.OAuth2) { o.Scopes = []string{"repo", "read:org"} })); err != nil {
		fmt.Println(err)
	}
	err := c.Add(providers.Provider{
		Key: "acme", Name: "Acme", DocsURL: "https://developer.acme.example/oauth",
		Type: connection.Type{OAuth2: &connection.OAuth2{
			AuthorizeURL: "https://acme.example/oauth/authorize",
			TokenURL:     "https://acme.example/oauth/token",
		}},
	})
	fmt.Println(err)
	gh, _ = c.Lookup("github")
	scopes, _ := gh.Type.Field(connection.FieldScopes)
	fmt.Println(scopes.Default)
	builtin, _ := providers.Lookup("github")
	fmt.Println(builtin.Type.OAuth2.Scopes)
	// Output:
	// <nil>
	// repo read:org
	// [read:user]
}
