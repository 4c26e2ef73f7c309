package connection_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/connkit/connkit/connection"
)

// tenantType is an OAuth 2.0 type whose endpoints live on the tenant's host.
var tenantType = connection.MustDeclare(connection.Type{
	Key: "tenant",
	Fields: []connection.Field{
		{Key: "shop", Label: "Shop", Required: true},
		{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"eu", "us", "evil.com"}, Default: "us"},
		{Key: "short", Label: "Short", Rule: "max=5"},
		{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword},
	},
	OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://{shop}.{region}.shops.example/admin/oauth/authorize",
		TokenURL:     "https://api.shops.example/{shop}/oauth/token?v=1",
	},
})

func expand(t *testing.T, tmpl string, m map[string]string) (string, error) {
	t.Helper()
	return connection.ExpandURL(tmpl, &tenantType, connection.ValuesOf(m))
}

func TestExpandURL(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		vals map[string]string
		want string
	}{
		{"https://{shop}.shops.example/x", map[string]string{"shop": "acme"}, "https://acme.shops.example/x"},
		{"https://{shop}.{region}.shops.example/a/{shop}", map[string]string{"shop": "Acme-1", "region": "eu"}, "https://Acme-1.eu.shops.example/a/Acme-1"},
		{"https://login.example/{shop}/oauth2/v2.0/token", map[string]string{"shop": "0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"}, "https://login.example/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab/oauth2/v2.0/token"},
		{"https://{shop}.shops.example:8443/x?y=1#z", map[string]string{"shop": "a"}, "https://a.shops.example:8443/x?y=1#z"},
		{"https://plain.example/x", nil, "https://plain.example/x"},
		{"https://" + "{shop}" + ".shops.example", map[string]string{"shop": strings.Repeat("a", 63)}, "https://" + strings.Repeat("a", 63) + ".shops.example"},
	} {
		got, err := expand(t, tc.tmpl, tc.vals)
		if err != nil || got != tc.want {
			t.Errorf("ExpandURL(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

// badLabels are values that must never be filled into a URL.
var badLabels = []string{
	"evil.com/x", "a.b", "..", ".", "", "x@evil.com", "%2e", "%2E%2E", "a%2fb", "evil.com",
	"a/b", "a\\b", "a:80", "a?b", "a#b", "a b", " a", "a\t", "a\n", "-a", "a-", "-",
	strings.Repeat("a", 64), "аcme", "acme\u3002evil", "ａcme", "a\u200bb", "\u0430", "é", "a_b", "a{b}", "{shop}",
	"a;b", "a,b", "a&b", "a=b", "a'b", "a\"b", "a<b", "a\x00b",
}

func TestExpandURLRejectsNonLabels(t *testing.T) {
	for _, tmpl := range []string{"https://{shop}.shops.example/x", "https://api.shops.example/{shop}/token"} {
		for _, bad := range badLabels {
			got, err := expand(t, tmpl, map[string]string{"shop": bad})
			if err == nil {
				t.Errorf("ExpandURL(%q, shop=%q) = %q, want an error", tmpl, bad, got)
				continue
			}
			checkTemplateError(t, err, "shop", bad)
		}
	}
}

// checkTemplateError checks that err is a *ValidationError naming key and
// not containing the value.
func checkTemplateError(t *testing.T, err error, key, value string) {
	t.Helper()
	var ve *connection.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, connection.ErrInvalid) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if len(ve.Field(key)) == 0 {
		t.Errorf("error %q does not name field %q", err, key)
	}
	if len(value) > 2 && strings.Contains(err.Error(), value) {
		t.Errorf("error %q contains the value", err)
	}
}

func TestExpandURLFieldRules(t *testing.T) {
	// The value must be valid for its own field too: its choices and rule.
	tmpl := "https://{region}.shops.example/{short}"
	if _, err := expand(t, tmpl, map[string]string{"region": "ca", "short": "ok"}); err == nil {
		t.Error("a value outside the field's choices was filled in")
	} else {
		checkTemplateError(t, err, "region", "ca")
	}
	// A choice that is not a DNS label is refused even though the field allows it.
	if _, err := expand(t, tmpl, map[string]string{"region": "evil.com", "short": "ok"}); err == nil {
		t.Error("a choice holding a dot was filled in")
	}
	if _, err := expand(t, tmpl, map[string]string{"region": "eu", "short": "toolong"}); err == nil {
		t.Error("a value breaking the field's rule was filled in")
	} else {
		checkTemplateError(t, err, "short", "toolong")
	}
	// Every problem at once.
	_, err := expand(t, tmpl, map[string]string{"region": "a.b"})
	var ve *connection.ValidationError
	if !errors.As(err, &ve) || len(ve.Field("region")) != 1 || len(ve.Field("short")) != 1 {
		t.Errorf("ExpandURL = %v, want problems for region and short", err)
	}
}

func TestExpandURLMalformedTemplates(t *testing.T) {
	for tmpl, key := range map[string]string{
		"https://{shop}-x.shops.example/":        "shop",
		"https://x{shop}.shops.example/":         "shop",
		"https://shops.example/a{shop}":          "shop",
		"https://shops.example/x?shop={shop}":    "shop",
		"https://shops.example/x#{shop}":         "shop",
		"https://shops.example:{shop}/x":         "template",
		"{shop}://shops.example/":                "template",
		"https://{shop}@shops.example/":          "template",
		"https://u:{shop}@shops.example/":        "template",
		"https://{shop.shops.example/":           "template",
		"https://{shop}}.shops.example/":         "template",
		"https://{{shop}}.shops.example/":        "template",
		"https://{}.shops.example/":              "template",
		"https://{9x}.shops.example/":            "template",
		"ftp://{shop}.shops.example/":            "template",
		"//{shop}.shops.example/":                "template",
		"https://{nosuch}.shops.example/":        "nosuch",
		"https://{apiKey}.shops.example/":        "apiKey",
		"https://shops.example/{shop}/{apiKey}/": "apiKey",
	} {
		got, err := expand(t, tmpl, map[string]string{"shop": "acme", "apiKey": "k3y-value"})
		if err == nil {
			t.Errorf("ExpandURL(%q) = %q, want an error", tmpl, got)
			continue
		}
		checkTemplateError(t, err, key, "k3y-value")
	}
}

func TestDeclareURLTemplates(t *testing.T) {
	if got, _ := tenantType.Field(connection.FieldAuthorizeURL); got.Default != tenantType.OAuth2.AuthorizeURL {
		t.Fatalf("authorize URL field = %+v", got)
	}
	base := func(authorize string) connection.Type {
		return connection.Type{
			Key:    "t",
			Fields: []connection.Field{{Key: "shop", Required: true}, {Key: "secret", Kind: connection.KindPassword}},
			OAuth2: &connection.OAuth2{AuthorizeURL: authorize, TokenURL: "https://{shop}.shops.example/token"},
		}
	}
	if _, err := connection.Declare(base("https://{shop}.shops.example/authorize")); err != nil {
		t.Fatalf("Declare(templated URLs) = %v", err)
	}
	for _, bad := range []string{
		"https://{nosuch}.shops.example/authorize",
		"https://{secret}.shops.example/authorize",
		"https://shops.example/authorize?shop={shop}",
		"https://{shop.shops.example/authorize",
		"ftp://{shop}.shops.example/authorize",
		"https://{authorizeUrl}.shops.example/authorize",
	} {
		_, err := connection.Declare(base(bad))
		var ve *connection.ValidationError
		if !errors.As(err, &ve) || len(ve.Field(connection.FieldAuthorizeURL)) == 0 {
			t.Errorf("Declare(authorize %q) = %v, want a problem on %s", bad, err, connection.FieldAuthorizeURL)
		}
	}
	// A field default of kind url may be a template as well; its rule
	// applies to the URL with the placeholders filled in.
	typ := connection.Type{Key: "t", Fields: []connection.Field{
		{Key: "shop", Required: true},
		{Key: "base", Kind: connection.KindURL, Default: "https://{shop}.shops.example/api", Rule: "startswith=https://"},
	}}
	if _, err := connection.Declare(typ); err != nil {
		t.Errorf("Declare(templated default) = %v", err)
	}
	typ.Fields[1].Rule = "startswith=http://"
	if _, err := connection.Declare(typ); err == nil {
		t.Error("Declare accepted a templated default breaking its rule")
	}
}

func TestValidateValuesURLTemplates(t *testing.T) {
	resolved := func(m map[string]string) connection.Values {
		v := connection.ValuesOf(m)
		for _, f := range tenantType.Fields {
			if f.Default != "" && !v.Has(f.Key) {
				v.Set(f.Key, f.Default)
			}
		}
		v.Set(connection.FieldClientID, "id")
		return v
	}
	if err := tenantType.ValidateValues(resolved(map[string]string{"shop": "acme"})); err != nil {
		t.Errorf("ValidateValues(good shop) = %v", err)
	}
	for _, bad := range []string{"evil.com/x", "a.b", "..", "x@evil.com", "%2e", "аcme"} {
		err := tenantType.ValidateValues(resolved(map[string]string{"shop": bad}))
		var ve *connection.ValidationError
		if !errors.As(err, &ve) || len(ve.Field("shop")) != 1 {
			t.Errorf("ValidateValues(shop=%q) = %v, want one problem on shop", bad, err)
			continue
		}
		checkTemplateError(t, err, "shop", bad)
	}
	// A missing shop is reported once, as required.
	err := tenantType.ValidateValues(resolved(nil))
	var ve *connection.ValidationError
	if !errors.As(err, &ve) || len(ve.Field("shop")) != 1 || ve.Field("shop")[0].Reason != "is required" {
		t.Errorf("ValidateValues(no shop) = %v", err)
	}
	// Only the type's own default is a template: braces in a value that
	// came from elsewhere make it an invalid URL.
	v := resolved(map[string]string{"shop": "acme"})
	v.Set(connection.FieldAuthorizeURL, "https://{shop}.other.example/authorize")
	if err := tenantType.ValidateValues(v); err == nil || !errors.As(err, &ve) || len(ve.Field(connection.FieldAuthorizeURL)) != 1 {
		t.Errorf("ValidateValues(customer template) = %v, want a problem on %s", err, connection.FieldAuthorizeURL)
	}
}

// TestExpandURLKeepsHost is the property that matters: whatever the values,
// ExpandURL either fails or returns the template with each placeholder
// replaced by its value, on the template's host.
func TestExpandURLKeepsHost(t *testing.T) {
	alphabet := []rune("aZ09-._~%/@:?#[]{}\\ \t\n\x00éа。ａ")
	value := rapid.OneOf(
		rapid.StringMatching(`[A-Za-z0-9-]{0,70}`),
		rapid.StringOfN(rapid.SampledFrom(alphabet), 0, 20, -1),
		rapid.String(),
	)
	rapid.Check(t, func(rt *rapid.T) {
		shop := value.Draw(rt, "shop")
		region := rapid.SampledFrom([]string{"eu", "us", "evil.com"}).Draw(rt, "region")
		v := connection.ValuesOf(map[string]string{"shop": shop, "region": region})
		got, err := connection.ExpandURL(tenantType.OAuth2.AuthorizeURL, &tenantType, v)
		if err != nil {
			var ve *connection.ValidationError
			if !errors.As(err, &ve) {
				rt.Fatalf("error %v is not a *ValidationError", err)
			}
			if len(shop) > 3 && strings.Contains(err.Error(), shop) {
				rt.Fatalf("error %q contains the value", err)
			}
			return
		}
		if !connection.ValidDNSLabel(shop) || region == "evil.com" {
			rt.Fatalf("ExpandURL accepted shop %q region %q", shop, region)
		}
		u, perr := url.Parse(got)
		if perr != nil {
			rt.Fatalf("expanded URL %q does not parse: %v", got, perr)
		}
		wantHost := fmt.Sprintf("%s.%s.shops.example", shop, region)
		if u.Host != wantHost || u.User != nil || u.Path != "/admin/oauth/authorize" || u.Scheme != "https" {
			rt.Fatalf("expanded URL %q: host %q, want %q", got, u.Host, wantHost)
		}
		if !strings.HasSuffix(u.Hostname(), ".shops.example") {
			rt.Fatalf("expanded URL %q left the template's domain", got)
		}
	})
}

func TestURLTemplateKeys(t *testing.T) {
	got := connection.URLTemplateKeys("https://{a}.{b}.example/{a}/{c}")
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("URLTemplateKeys = %v", got)
	}
	if connection.URLTemplateKeys("https://x.example/") != nil {
		t.Error("URLTemplateKeys of a plain URL is not nil")
	}
}

// FuzzExpandURL fills random templates with random values: ExpandURL must
// never panic, must fail with a *ValidationError that holds no value, and a
// URL it returns must keep the template's host but for the templated labels.
func FuzzExpandURL(f *testing.F) {
	f.Add("https://{shop}.shops.example/x", "acme")
	f.Add("https://{shop}.shops.example/x", "evil.com/x")
	f.Add("https://shops.example/{shop}/{shop}", "a-b")
	f.Fuzz(func(t *testing.T, tmpl, shop string) {
		v := connection.ValuesOf(map[string]string{"shop": shop, "region": "us"})
		got, err := connection.ExpandURL(tmpl, &tenantType, v)
		if err != nil {
			var ve *connection.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
			}
			if len(shop) > 3 && strings.Contains(err.Error(), shop) && !strings.Contains(tmpl, shop) {
				t.Fatalf("error %q contains the value", err)
			}
			return
		}
		if strings.Contains(tmpl, "shop0") || strings.Contains(tmpl, "region0") {
			return // the check below could not tell them from placeholders
		}
		if !connection.IsURLTemplate(tmpl) {
			if got != tmpl {
				t.Fatalf("plain URL changed: %q -> %q", tmpl, got)
			}
			return
		}
		if strings.Contains(tmpl, "{shop}") && !connection.ValidDNSLabel(shop) {
			t.Fatalf("ExpandURL(%q) accepted shop %q", tmpl, shop)
		}
		want, _ := url.Parse(strings.NewReplacer("{shop}", "shop0", "{region}", "region0").Replace(tmpl))
		u, err := url.Parse(got)
		if err != nil || want == nil {
			t.Fatalf("expanded URL %q does not parse: %v", got, err)
		}
		wl, gl := strings.Split(want.Hostname(), "."), strings.Split(u.Hostname(), ".")
		if len(wl) != len(gl) {
			t.Fatalf("expanded host %q has other labels than template %q", u.Hostname(), tmpl)
		}
		for i := range wl {
			switch wl[i] {
			case "shop0":
				if gl[i] != shop {
					t.Fatalf("label %d = %q, want the shop", i, gl[i])
				}
			case "region0":
				if gl[i] != "us" {
					t.Fatalf("label %d = %q, want the region", i, gl[i])
				}
			default:
				if gl[i] != wl[i] {
					t.Fatalf("label %d = %q, want %q", i, gl[i], wl[i])
				}
			}
		}
	})
}

// BenchmarkExpandURL measures filling a two-placeholder template, as
// NewEndpoint does for each URL of a tenant-specific type.
func BenchmarkExpandURL(b *testing.B) {
	v := connection.ValuesOf(map[string]string{"shop": "acme", "region": "eu"})
	tmpl := tenantType.OAuth2.AuthorizeURL
	b.ReportAllocs()
	for b.Loop() {
		if _, err := connection.ExpandURL(tmpl, &tenantType, v); err != nil {
			b.Fatal(err)
		}
	}
}
