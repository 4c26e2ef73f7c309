package providers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/oauth/providers"
)

// serverLike configures the fake authorization server to behave the way
// the catalog says p does: the client authentication style p declares is
// the only one accepted, PKCE is required when p sends it, responses lack
// expires_in (and, for tokens that never expire, a refresh token) when p
// assumes a lifetime, carry the extra fields p keeps, nest the token set
// where p looks for it, and rotate refresh tokens when p says so.
func serverLike(p providers.Provider) oauthtest.Config {
	o := p.Type.OAuth2
	cfg := oauthtest.Config{
		Clients:             []oauthtest.Client{{ID: fxClientID, Secret: fxClientSecret, RedirectURIs: []string{fxRedirectURL}, AuthStyle: clientStyle(p)}},
		RequirePKCE:         o.PKCEOrDefault() != connection.PKCEOff,
		RotateRefreshTokens: p.RotatesRefreshTokens,
		ExtraTokenFields:    map[string]any{},
		ExtraCallbackParams: map[string]string{},
	}
	switch d := o.DefaultTokenLifetime; {
	case d >= providers.LongLived:
		cfg.AccessTokenTTL, cfg.OmitRefreshToken = -1, true
	case d > 0:
		cfg.AccessTokenTTL, cfg.OmitExpiresIn = d, true
	}
	for _, k := range o.TokenResponseFields {
		cfg.ExtraTokenFields[k] = "value of " + k
	}
	for _, k := range o.CallbackParams {
		cfg.ExtraCallbackParams[k] = "value of " + k
	}
	if len(o.TokenPath) > 0 {
		path := o.TokenPath
		cfg.TokenResponse = func(_ string, body map[string]any) {
			inner := map[string]any{}
			for _, k := range []string{"access_token", "refresh_token", "expires_in", "scope", "token_type"} {
				if v, ok := body[k]; ok {
					inner[k] = v
					delete(body, k)
				}
			}
			for i := len(path) - 1; i > 0; i-- {
				inner = map[string]any{path[i]: inner}
			}
			body[path[0]] = inner
			body["access_token"] = "decoy"
		}
		// The nested object's members are kept from the merged response.
		for _, k := range o.TokenResponseFields {
			delete(cfg.ExtraTokenFields, k)
		}
	}
	return cfg
}

// TestEveryOAuthEntry runs each OAuth 2.0 entry of the catalog against the
// fake server configured like the provider, through oauth.Endpoint: the
// authorize URL carries the entry's scopes (with its separator), extra
// parameters and PKCE challenge; the code exchange authenticates the
// client the declared way; the token set, its expiry and the kept fields
// are right; a refresh gives a new access token and, when the entry says
// so, a new refresh token; a declared revocation URL revokes.
func TestEveryOAuthEntry(t *testing.T) {
	for _, p := range providers.All() {
		if !p.IsOAuth2() {
			continue
		}
		t.Run(p.Key, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { exerciseEntry(t, p) })
		})
	}
}

func exerciseEntry(t *testing.T, p providers.Provider) {
	o := p.Type.OAuth2
	srv := oauthtest.NewUnstarted(t, serverLike(p))
	client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport(), Retries: -1})
	values := resolved(&p.Type, fakeValues(p, srv))
	if err := p.Type.ValidateValues(values); err != nil {
		t.Fatalf("ValidateValues: %v", err)
	}
	ep, err := oauth.NewEndpoint(&p.Type, values, fxRedirectURL)
	if err != nil {
		t.Fatalf("NewEndpoint: %v", err)
	}
	ctx := context.Background()
	if o.GrantOrDefault() == connection.GrantClientCredentials {
		tok, _, err := ep.ClientCredentials(ctx, client)
		if err != nil || !srv.Active(tok.AccessToken.Reveal()) {
			t.Fatalf("ClientCredentials: %v", err)
		}
		return
	}
	var verifier string
	if o.PKCEOrDefault() != connection.PKCEOff {
		verifier = strings.Repeat("v", 43) + p.Key
	}
	authURL := ep.AuthCodeURL("state-"+p.Key, verifier)
	q := mustQuery(t, authURL)
	if want := strings.Join(o.Scopes, o.SeparatorOrDefault()); q.Get("scope") != want {
		t.Errorf("scope = %q, want %q", q.Get("scope"), want)
	}
	for k, v := range o.AuthorizeParams {
		if q.Get(k) != v {
			t.Errorf("authorize parameter %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if got, want := q.Get("code_challenge_method"), map[bool]string{true: "S256", false: ""}[verifier != ""]; got != want {
		t.Errorf("code_challenge_method = %q, want %q", got, want)
	}
	loc, err := srv.Authorize(ctx, authURL)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	cb := loc.Query()
	if cb.Get("error") != "" {
		t.Fatalf("authorization failed: %s", cb.Get("error"))
	}
	for _, k := range o.CallbackParams {
		if cb.Get(k) != "value of "+k {
			t.Errorf("callback parameter %s = %q", k, cb.Get(k))
		}
	}
	tok, ot, err := ep.Exchange(ctx, client, cb.Get("code"), verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !srv.Active(tok.AccessToken.Reveal()) {
		t.Fatal("the access token is not one the provider issued")
	}
	lifetime := o.LifetimeOrDefault()
	if o.DefaultTokenLifetime == 0 {
		lifetime = time.Hour // the fake server's expires_in
	}
	if want := time.Now().Add(lifetime); !tok.Expiry.Equal(want) {
		t.Errorf("expiry = %v, want now + %v", tok.Expiry, lifetime)
	}
	wantExtra := map[string]string{}
	for _, k := range o.TokenResponseFields {
		if len(o.TokenPath) == 0 {
			wantExtra[k] = "value of " + k
		}
	}
	if got := ep.ExtraFields(ot); len(o.TokenPath) == 0 && !cmp.Equal(wantExtra, orEmpty(got)) {
		t.Errorf("kept token response fields = %v, want %v", got, wantExtra)
	}
	reqs := srv.TokenRequests()
	if last := reqs[len(reqs)-1]; last.HasBasic != (o.ClientAuthOrDefault() == connection.ClientAuthBasic) {
		t.Errorf("client authenticated with Basic = %v, declared %s", last.HasBasic, o.ClientAuthOrDefault())
	}
	current := tok
	if !tok.RefreshToken.IsZero() {
		time.Sleep(time.Minute)
		next, _, err := ep.Refresh(ctx, client, tok.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if next.AccessToken.Equal(tok.AccessToken) || !srv.Active(next.AccessToken.Reveal()) {
			t.Error("the refresh did not give a new access token")
		}
		if rotated := !next.RefreshToken.Equal(tok.RefreshToken); rotated != p.RotatesRefreshTokens {
			t.Errorf("refresh token replaced = %v, entry says rotation %v", rotated, p.RotatesRefreshTokens)
		}
		current = next
	} else if o.DefaultTokenLifetime < providers.LongLived {
		t.Error("no refresh token from a provider whose tokens expire")
	}
	if o.RevokeURL != "" {
		if err := ep.Revoke(ctx, client, current.AccessToken, oauth.HintAccessToken); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if srv.Active(current.AccessToken.Reveal()) {
			t.Error("the revoked access token is still active")
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// TestEveryAPIKeyEntry checks that each API-key or Basic entry validates
// its values and authenticates a request the way it declares.
func TestEveryAPIKeyEntry(t *testing.T) {
	for _, p := range providers.All() {
		if p.IsOAuth2() {
			continue
		}
		t.Run(p.Key, func(t *testing.T) {
			v := withClient(p, resolved(&p.Type, tenantValues(p)))
			if err := p.Type.ValidateValues(v); err != nil {
				t.Fatalf("ValidateValues: %v", err)
			}
			missing := v.Clone()
			for _, f := range p.Type.Fields {
				if f.IsSecret() {
					missing.Delete(f.Key)
				}
			}
			if err := p.Type.ValidateValues(missing); err == nil {
				t.Error("values without the secret validate")
			}
			// A step's authenticated client (package component) sends the
			// credentials the way the entry declares.
			var got *http.Request
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
			})
			conn := component.NewConn(component.ConnConfig{Type: p.Type, Values: v, Transport: rt, Retry: component.Retry{Max: -1}})
			resp, err := conn.HTTPClient().Get("https://api.example/x")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			_ = resp.Body.Close()
			a := p.Type.Auth
			switch a.Method {
			case connection.AuthHeader:
				if h := got.Header.Get(a.Header); h != a.Prefix+"k3y" {
					t.Errorf("%s header = %q, want %q", a.Header, h, a.Prefix+"k3y")
				}
			case connection.AuthBasic:
				user, pw, ok := got.BasicAuth()
				if !ok || user != v.String(a.UsernameField) || pw != v.String(a.PasswordField) || pw == "" || user == "" {
					t.Errorf("Basic credentials = %q/%q (%v)", user, pw, ok)
				}
			default:
				t.Fatalf("auth method %q", a.Method)
			}
			if p.APIBaseURL != "" {
				base, err := p.BaseURL(v)
				if u, perr := url.Parse(base); err != nil || perr != nil || u.Scheme != "https" {
					t.Errorf("BaseURL = %q, %v", base, err)
				}
			}
		})
	}
}
