package providers_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth/providers"
)

// requiredKeys are the providers the catalog must hold (issue 9's list,
// with the key each has here).
var requiredKeys = []string{
	"google", "microsoft", "salesforce", "hubspot", "slack", "github", "gitlab", "atlassian",
	"quickbooks", "xero", "dropbox", "box", "zoom", "asana", "notion", "airtable", "shopify",
	"zendesk", "intercom", "linear", "stripe", "pipedrive", "mailchimp", "docusign", "okta",
	"twitter", "linkedin", "discord", "spotify", "calendly", "typeform", "freshdesk", "servicenow",
	"monday", "clickup", "figma", "miro", "webflow", "zoho", "bitbucket",
	"mailgun", "sendgrid", "twilio", "openai",
}

func TestCatalogHoldsRequiredProviders(t *testing.T) {
	all := providers.All()
	if len(all) < 45 {
		t.Errorf("the catalog holds %d providers, want at least 45", len(all))
	}
	for _, k := range requiredKeys {
		if _, ok := providers.Lookup(k); !ok {
			t.Errorf("no provider %q", k)
		}
	}
	var apiKey int
	for _, p := range all {
		if !p.IsOAuth2() {
			apiKey++
		}
	}
	if apiKey < 8 {
		t.Errorf("%d API-key or Basic providers, want at least 8", apiKey)
	}
}

// TestEntriesDeclare: every entry is a declared connection type (declaring
// it again changes nothing) whose key is the provider's, with a name, a
// category and an authentication method that reaches the API.
func TestEntriesDeclare(t *testing.T) {
	for _, p := range providers.All() {
		t.Run(p.Key, func(t *testing.T) {
			again, err := connection.Declare(p.Type)
			if err != nil {
				t.Fatalf("Declare: %v", err)
			}
			if diff := cmp.Diff(p.Type, again); diff != "" {
				t.Errorf("declaring the type again changed it (-catalog +again):\n%s", diff)
			}
			if p.Type.Key != p.Key || p.Name == "" || p.Category == "" || p.Type.Label != p.Name {
				t.Errorf("key %q type key %q name %q category %q label %q", p.Key, p.Type.Key, p.Name, p.Category, p.Type.Label)
			}
			switch {
			case p.IsOAuth2():
				if p.Type.Auth.Method != connection.AuthBearer {
					t.Errorf("OAuth 2.0 type authenticates with %q", p.Type.Auth.Method)
				}
			case p.Type.Auth.Method == connection.AuthNone:
				t.Error("a type without OAuth 2.0 must authenticate requests another way")
			}
			for _, f := range p.Type.Fields {
				if f.Key == providers.FieldAPIKey || f.Key == providers.FieldPassword && f.Default == "" || f.Key == connection.FieldClientSecret {
					if !f.IsSecret() {
						t.Errorf("field %q is not secret", f.Key)
					}
				}
			}
			if len(p.Quirks()) == 0 && p.IsOAuth2() && p.Type.OAuth2.RevokeURL == "" {
				t.Error("an entry without revocation must say so among its quirks")
			}
		})
	}
}

// urlsOf returns every URL of an entry: docs, API base, OAuth endpoints,
// and the defaults of its URL fields.
func urlsOf(p providers.Provider) map[string]string {
	m := map[string]string{"docs": p.DocsURL, "api": p.APIBaseURL}
	if o := p.Type.OAuth2; o != nil {
		m["authorize"], m["token"], m["revoke"] = o.AuthorizeURL, o.TokenURL, o.RevokeURL
	}
	for _, f := range p.Type.Fields {
		if f.Kind == connection.KindURL {
			m["field "+f.Key] = f.Default
		}
	}
	return m
}

func TestURLsAreHTTPS(t *testing.T) {
	for _, p := range providers.All() {
		if p.DocsURL == "" {
			t.Errorf("%s: no docs URL", p.Key)
		}
		for name, s := range urlsOf(p) {
			if s == "" {
				continue
			}
			filled := s
			for _, k := range connection.URLTemplateKeys(s) {
				filled = strings.ReplaceAll(filled, "{"+k+"}", "tenant")
			}
			u, err := url.Parse(filled)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" && name != "docs" {
				t.Errorf("%s: %s URL %q is not an absolute https URL", p.Key, name, s)
			}
		}
	}
}

func TestKeysUniqueAndSorted(t *testing.T) {
	all := providers.All()
	seen := map[string]bool{}
	var keys []string
	for _, p := range all {
		if seen[p.Key] {
			t.Errorf("duplicate key %q", p.Key)
		}
		seen[p.Key] = true
		keys = append(keys, p.Key)
	}
	if !slices.IsSorted(keys) {
		t.Errorf("All is not sorted by key: %v", keys)
	}
	if diff := cmp.Diff(keys, providers.Default().Keys()); diff != "" {
		t.Errorf("Keys differ from All (-all +keys):\n%s", diff)
	}
	// A catalog refuses a second entry with the same key.
	p := provider(t, "github")
	if _, err := providers.NewCatalog(p, p); !errors.Is(err, providers.ErrDuplicate) {
		t.Errorf("NewCatalog(duplicate) = %v, want ErrDuplicate", err)
	}
}

// TestCatalogAddSetDelete: a host adds its own entry, overrides a built-in
// one, removes one; other catalogs (and the package's Lookup) are not
// affected, and providers handed out are copies.
func TestCatalogAddSetDelete(t *testing.T) {
	c := providers.Default()
	n := c.Len()
	own := providers.Provider{
		Key: "acme-crm", Name: "Acme CRM", Category: providers.CategoryCRM, DocsURL: "https://docs.acme.example/oauth",
		APIBaseURL: "https://{region}.api.acme.example",
		Type: connection.Type{
			Fields: []connection.Field{{Key: "region", Kind: connection.KindChoice, Choices: []string{"eu", "us"}, Required: true}},
			OAuth2: &connection.OAuth2{AuthorizeURL: "https://{region}.acme.example/authorize", TokenURL: "https://{region}.acme.example/token"},
		},
	}
	if err := c.Add(own); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := c.Add(own); !errors.Is(err, providers.ErrDuplicate) {
		t.Errorf("second Add = %v, want ErrDuplicate", err)
	}
	got, ok := c.Lookup("acme-crm")
	if !ok || got.Type.Key != "acme-crm" || !got.Type.HasField(connection.FieldClientID) {
		t.Fatalf("Lookup(acme-crm) = %+v, %v: want the declared type", got.Type, ok)
	}
	if base, err := got.BaseURL(connection.ValuesOf(map[string]string{"region": "eu"})); err != nil || base != "https://eu.api.acme.example" {
		t.Errorf("BaseURL = %q, %v", base, err)
	}
	// Override a built-in entry's scopes.
	gh, _ := c.Lookup("github")
	if err := c.Set(gh.WithOAuth2(func(o *connection.OAuth2) { o.Scopes = []string{"repo"} })); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, _ := c.Lookup("github"); strings.Join(got.Type.OAuth2.Scopes, " ") != "repo" {
		t.Errorf("overridden scopes = %v", got.Type.OAuth2.Scopes)
	}
	if !c.Delete("twitter") || c.Delete("twitter") {
		t.Error("Delete did not report presence once")
	}
	if c.Len() != n {
		t.Errorf("Len = %d, want %d (+1 -1)", c.Len(), n)
	}
	// Nothing reached the built-in catalog or another Default.
	for _, other := range []*providers.Catalog{providers.Default(), nil} {
		lookup := providers.Lookup
		if other != nil {
			lookup = other.Lookup
		}
		if _, ok := lookup("acme-crm"); ok {
			t.Error("an added entry leaked into another catalog")
		}
		if p, _ := lookup("github"); strings.Join(p.Type.OAuth2.Scopes, " ") != "read:user" {
			t.Error("an override leaked into another catalog")
		}
		if _, ok := lookup("twitter"); !ok {
			t.Error("a deletion leaked into another catalog")
		}
	}
	// Providers are copies.
	p, _ := c.Lookup("google")
	p.Type.OAuth2.AuthorizeParams["prompt"] = "none"
	p.Type.Fields[0].Label = "changed"
	p.Notes[0] = "changed"
	if q, _ := c.Lookup("google"); q.Type.OAuth2.AuthorizeParams["prompt"] != "consent" || q.Type.Fields[0].Label == "changed" || q.Notes[0] == "changed" {
		t.Error("changing a looked-up provider changed the catalog")
	}
}

func TestCatalogRefusesBadEntries(t *testing.T) {
	good := providers.Provider{Key: "x", Name: "X", DocsURL: "https://x.example/docs",
		Type: connection.Type{OAuth2: &connection.OAuth2{AuthorizeURL: "https://x.example/a", TokenURL: "https://x.example/t"}}}
	for name, mutate := range map[string]func(p *providers.Provider){
		"bad key":           func(p *providers.Provider) { p.Key = "9x" },
		"no name":           func(p *providers.Provider) { p.Name = "" },
		"type key differs":  func(p *providers.Provider) { p.Type.Key = "y" },
		"http token URL":    func(p *providers.Provider) { p.Type.OAuth2.TokenURL = "http://x.example/t" },
		"http docs":         func(p *providers.Provider) { p.DocsURL = "http://x.example/docs" },
		"userinfo API URL":  func(p *providers.Provider) { p.APIBaseURL = "https://u:p@x.example" },
		"unknown tenant":    func(p *providers.Provider) { p.Type.OAuth2.TokenURL = "https://{nosuch}.x.example/t" },
		"API URL no field":  func(p *providers.Provider) { p.APIBaseURL = "https://{nosuch}.x.example" },
		"tenant in query":   func(p *providers.Provider) { p.Type.OAuth2.AuthorizeURL = "https://x.example/a?t={clientId}" },
		"undeclarable type": func(p *providers.Provider) { p.Type.OAuth2.PKCE = "S512" },
	} {
		p := good
		o := *good.Type.OAuth2
		p.Type.OAuth2 = &o
		mutate(&p)
		var c providers.Catalog
		if err := c.Set(p); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: Set = %v, want ErrInvalid", name, err)
		}
		if c.Len() != 0 {
			t.Errorf("%s: a refused entry was stored", name)
		}
	}
	var c providers.Catalog
	if err := c.Set(good); err != nil {
		t.Errorf("Set(good) on a zero Catalog = %v", err)
	}
}

// TestCatalogConcurrent reads and writes one catalog from many goroutines
// (run with -race).
func TestCatalogConcurrent(t *testing.T) {
	c := providers.Default()
	p := provider(t, "github")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				if i%2 == 0 {
					if err := c.Set(p); err != nil {
						t.Error(err)
					}
				} else if _, ok := c.Lookup("github"); !ok {
					t.Error("github vanished")
				}
				_ = c.All()
			}
		})
	}
	wg.Wait()
}

// BenchmarkLookup measures looking up a built-in provider (a deep copy of
// its declared type).
func BenchmarkLookup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := providers.Lookup("salesforce"); !ok {
			b.Fatal("no salesforce")
		}
	}
}
