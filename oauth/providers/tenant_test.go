package providers_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/oauth/providers"
)

// tenantProviders are the built-in providers with URL templates.
func tenantProviders(t testing.TB) []providers.Provider {
	t.Helper()
	var out []providers.Provider
	for _, p := range providers.All() {
		if len(p.TenantFields()) > 0 {
			out = append(out, p)
		}
	}
	for _, k := range []string{"shopify", "zendesk", "okta", "salesforce-mydomain", "freshdesk", "servicenow", "microsoft"} {
		if p := provider(t, k); len(p.TenantFields()) == 0 {
			t.Errorf("%s has no tenant fields", k)
		}
	}
	return out
}

// tenantURLs returns every URL of p built from values: the OAuth 2.0
// endpoints (for OAuth providers) and the API base URL.
func tenantURLs(p providers.Provider, values connection.Values) (map[string]string, error) {
	out := map[string]string{}
	if p.IsOAuth2() {
		values.Set(connection.FieldClientID, fxClientID)
		ep, err := oauth.NewEndpoint(&p.Type, values, fxRedirectURL)
		if err != nil {
			return nil, err
		}
		out["authorize"], out["token"], out["revoke"] = ep.AuthorizeURL(), ep.TokenURL(), ep.RevokeURL()
	}
	if p.APIBaseURL != "" {
		base, err := p.BaseURL(values)
		if err != nil {
			return nil, err
		}
		out["api"] = base
	}
	return out, nil
}

// templatesOf returns the URL templates matching tenantURLs' keys.
func templatesOf(p providers.Provider) map[string]string {
	out := map[string]string{"api": p.APIBaseURL}
	if o := p.Type.OAuth2; o != nil {
		out["authorize"], out["token"], out["revoke"] = o.AuthorizeURL, o.TokenURL, o.RevokeURL
	}
	return out
}

// expectHost fills the template's host with the values: what the expanded
// URL's host must be.
func expectHost(tmpl string, values map[string]string) string {
	u, err := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(tmpl))
	if err != nil {
		return "unparsable template"
	}
	labels := strings.Split(u.Hostname(), ".")
	orig := strings.Split(hostOfTemplate(tmpl), ".")
	for i, l := range orig {
		if strings.HasPrefix(l, "{") {
			labels[i] = values[strings.Trim(l, "{}")]
		}
	}
	return strings.Join(labels, ".")
}

func hostOfTemplate(tmpl string) string {
	rest := tmpl[strings.Index(tmpl, "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// TestTenantURLs fills every templated URL of the catalog with valid
// tenant values: the hosts are the templates' with the labels replaced.
func TestTenantURLs(t *testing.T) {
	for _, p := range tenantProviders(t) {
		m := tenantValues(p)
		urls, err := tenantURLs(p, resolved(&p.Type, m))
		if err != nil {
			t.Errorf("%s: %v", p.Key, err)
			continue
		}
		for name, tmpl := range templatesOf(p) {
			if tmpl == "" {
				continue
			}
			u, err := url.Parse(urls[name])
			if err != nil || u.Scheme != "https" || u.Host != expectHost(tmpl, m) {
				t.Errorf("%s: %s URL %q, want host %q", p.Key, name, urls[name], expectHost(tmpl, m))
			}
		}
		if err := p.Type.ValidateValues(withClient(p, resolved(&p.Type, m))); err != nil {
			t.Errorf("%s: ValidateValues(valid tenant) = %v", p.Key, err)
		}
	}
	sp := provider(t, "shopify")
	if got := must(tenantURLs(sp, resolved(&sp.Type, map[string]string{"shop": "acme"})))["token"]; got != "https://acme.myshopify.com/admin/oauth/access_token" {
		t.Errorf("shopify token URL = %q", got)
	}
	ms := provider(t, "microsoft")
	if got := must(tenantURLs(ms, resolved(&ms.Type, map[string]string{"tenant": "0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"})))["authorize"]; got != "https://login.microsoftonline.com/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab/oauth2/v2.0/authorize" {
		t.Errorf("microsoft authorize URL = %q", got)
	}
}

func must(m map[string]string, err error) map[string]string {
	if err != nil {
		panic(err)
	}
	return m
}

func withClient(p providers.Provider, v connection.Values) connection.Values {
	v = v.Clone()
	if p.IsOAuth2() {
		v.Set(connection.FieldClientID, fxClientID)
	} else {
		for _, f := range p.Type.Fields {
			if f.Required && !v.Has(f.Key) && !slices.Contains(p.TenantFields(), f.Key) {
				v.Set(f.Key, "k3y")
			}
		}
	}
	return v
}

// badTenantValues must never reach a URL.
var badTenantValues = []string{
	"evil.com/x", "a.b", "..", ".", "", "x@evil.com", "%2e", "%2e%2e", "a%2fb", "evil.com", "a/b", "a\\b",
	"a:443", "a?x=1", "a#x", "a b", "-a", "a-", strings.Repeat("a", 64), "аcme", "acme\u3002evil", "ａcme",
	"a\u200bb", "é", "a_b", "{shop}", "a\x00b", "a\r\nb", "127.0.0.1", "[::1]",
}

// TestTenantInterpolationRejects: for every templated provider and field, a
// value that is not a single DNS label fails validation, NewEndpoint (with
// ErrMisconfigured) and BaseURL, with an error naming the field and never
// the value.
func TestTenantInterpolationRejects(t *testing.T) {
	for _, p := range tenantProviders(t) {
		for _, key := range p.TenantFields() {
			for _, bad := range badTenantValues {
				m := tenantValues(p)
				m[key] = bad
				v := resolved(&p.Type, m)
				if bad == "" {
					v.Delete(key)
				}
				err := p.Type.ValidateValues(withClient(p, v))
				if err == nil {
					t.Errorf("%s: ValidateValues(%s=%q) = nil", p.Key, key, bad)
				} else {
					requireValidationError(t, err, key, bad)
				}
				urls, err := tenantURLs(p, v)
				if err == nil {
					t.Errorf("%s: %s=%q gave URLs %v", p.Key, key, bad, urls)
					continue
				}
				if p.IsOAuth2() && !errors.Is(err, oauth.ErrMisconfigured) {
					t.Errorf("%s: NewEndpoint(%s=%q) = %v, want ErrMisconfigured", p.Key, key, bad, err)
				}
				requireValidationError(t, err, key, bad)
			}
		}
	}
}

// TestTenantHostProperty is the property behind the checks above, over
// random strings: filling a provider's URLs either fails, or gives URLs
// whose hosts are exactly the templates' with each templated label replaced
// by its value, which is then a single DNS label.
func TestTenantHostProperty(t *testing.T) {
	ps := tenantProviders(t)
	alphabet := []rune("aZ09-._~%/@:?#[]{}\\ \t\n\x00éа。ａ\u200b")
	value := rapid.OneOf(
		rapid.StringMatching(`[A-Za-z0-9-]{0,70}`),
		rapid.StringOfN(rapid.SampledFrom(alphabet), 0, 24, -1),
		rapid.String(),
		rapid.SampledFrom(badTenantValues),
	)
	rapid.Check(t, func(rt *rapid.T) {
		p := rapid.SampledFrom(ps).Draw(rt, "provider")
		m := tenantValues(p)
		for _, k := range p.TenantFields() {
			f, _ := p.Type.Field(k)
			if len(f.Choices) > 0 && rapid.Bool().Draw(rt, "choice") {
				continue
			}
			m[k] = value.Draw(rt, k)
		}
		urls, err := tenantURLs(p, resolved(&p.Type, m))
		if err != nil {
			var ve *connection.ValidationError
			if !errors.As(err, &ve) {
				rt.Fatalf("%s: error %v wraps no *ValidationError", p.Key, err)
			}
			return
		}
		for _, k := range p.TenantFields() {
			if !connection.ValidDNSLabel(m[k]) {
				rt.Fatalf("%s: %s=%q was filled into a URL", p.Key, k, m[k])
			}
		}
		for name, tmpl := range templatesOf(p) {
			if tmpl == "" {
				continue
			}
			u, err := url.Parse(urls[name])
			if err != nil || u.Scheme != "https" || u.User != nil || u.Host != expectHost(tmpl, m) {
				rt.Fatalf("%s: %s URL %q, want host %q", p.Key, name, urls[name], expectHost(tmpl, m))
			}
		}
	})
}
