package providers_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/oauth/providers"
	"github.com/connkit/connkit/template"
)

// Each test here plays one quirk class through the whole stack: the
// catalog's type bound to a variable, CONNECT (oauth.Flow) against the fake
// server configured to behave like the provider, and refreshes through the
// token sources (oauth.Tokens) that steps use, checking what ends up in the
// store.

// TestQuirkNoExpiresIn: Salesforce answers without expires_in; the
// connection's token gets the catalog's assumed lifetime (2h), at CONNECT
// and after each refresh, and instance_url and id land in the metadata.
func TestQuirkNoExpiresIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		meta := map[string]any{"instance_url": "https://acme.my.salesforce.com", "id": "https://login.salesforce.com/id/00D/005", "signature": "sig"}
		f := newFx(t, "salesforce", fxOptions{server: oauthtest.Config{
			OmitExpiresIn: true, AccessTokenTTL: 2 * time.Hour, ExtraTokenFields: meta,
		}})
		defer f.close()
		lifetime := f.p.Type.OAuth2.DefaultTokenLifetime
		if lifetime != 2*time.Hour {
			t.Fatalf("salesforce assumes a lifetime of %v, want 2h", lifetime)
		}
		f.connect()
		first := f.stored()
		if want := time.Now().Add(lifetime); !first.Expiry.Equal(want) {
			t.Errorf("expiry after CONNECT = %v, want now + %v = %v", first.Expiry, lifetime, want)
		}
		if !f.srv.Active(first.AccessToken.Reveal()) || first.RefreshToken.IsZero() {
			t.Fatalf("stored token set is not the provider's (refresh token present: %v)", !first.RefreshToken.IsZero())
		}
		wantMeta := map[string]string{"instance_url": "https://acme.my.salesforce.com", "id": "https://login.salesforce.com/id/00D/005"}
		if diff := cmp.Diff(wantMeta, f.conn().Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
		// Near the assumed expiry, a step's token source refreshes.
		time.Sleep(lifetime - time.Minute)
		tok := f.token()
		if tok.AccessToken.Equal(first.AccessToken) || !f.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatal("the token source did not refresh near the assumed expiry")
		}
		if want := time.Now().Add(lifetime); !tok.Expiry.Equal(want) {
			t.Errorf("expiry after refresh = %v, want %v", tok.Expiry, want)
		}
		// Salesforce does not rotate: the refresh token is kept.
		if st := f.stored(); !st.RefreshToken.Equal(first.RefreshToken) || !st.AccessToken.Equal(tok.AccessToken) {
			t.Error("stored token set after refresh is not the new access token with the kept refresh token")
		}
		if diff := cmp.Diff(wantMeta, f.conn().Metadata); diff != "" {
			t.Errorf("metadata after refresh (-want +got):\n%s", diff)
		}
	})
}

// nestLikeSlack moves the token set of every response under authed_user and
// puts a bot token at the top level, as Slack's oauth.v2.access does.
func nestLikeSlack(_ string, body map[string]any) {
	user := map[string]any{"id": "U0123"}
	for _, k := range []string{"access_token", "refresh_token", "expires_in", "scope", "token_type"} {
		if v, ok := body[k]; ok {
			user[k] = v
			delete(body, k)
		}
	}
	body["ok"] = true
	body["authed_user"] = user
	body["access_token"] = "xoxb-bot-token"
	body["token_type"] = "bot"
	body["app_id"] = "A0456"
	body["team"] = map[string]any{"id": "T0789"}
}

// TestQuirkNestedToken: Slack's user token is under authed_user, beside a
// bot token at the top level. The connection holds the user token (never
// the bot's), its expiry and refresh token come from the nested object, and
// a refresh (Slack token rotation) reads the nested token again and
// persists the rotated refresh token.
func TestQuirkNestedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "slack-user", fxOptions{server: oauthtest.Config{
			AccessTokenTTL: 12 * time.Hour, RotateRefreshTokens: true, TokenResponse: nestLikeSlack,
		}})
		defer f.close()
		authURL := f.start()
		if got := mustQuery(t, authURL).Get("user_scope"); got != "users:read" {
			t.Errorf("authorize URL user_scope = %q", got)
		}
		loc, err := f.srv.Authorize(context.Background(), authURL)
		if err != nil {
			t.Fatal(err)
		}
		f.callback(loc)
		first := f.stored()
		if a := first.AccessToken.Reveal(); a == "xoxb-bot-token" || !f.srv.Active(a) {
			t.Fatal("the stored access token is not the nested user token")
		}
		if info, ok := f.srv.Lookup(first.RefreshToken.Reveal()); !ok || info.Type != "refresh_token" {
			t.Fatalf("the stored refresh token is not the nested one: %+v", info)
		}
		if want := time.Now().Add(12 * time.Hour); !first.Expiry.Equal(want) {
			t.Errorf("expiry = %v, want the nested expires_in (%v)", first.Expiry, want)
		}
		if diff := cmp.Diff(map[string]string{"app_id": "A0456", "id": "U0123"}, f.conn().Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
		time.Sleep(12*time.Hour - time.Minute)
		tok := f.token()
		if a := tok.AccessToken.Reveal(); a == "xoxb-bot-token" || tok.AccessToken.Equal(first.AccessToken) || !f.srv.Active(a) {
			t.Fatal("the refresh did not yield a new nested user token")
		}
		st := f.stored()
		if st.RefreshToken.Equal(first.RefreshToken) {
			t.Error("the rotated refresh token was not persisted")
		}
		if info, ok := f.srv.Lookup(st.RefreshToken.Reveal()); !ok || !info.Active {
			t.Errorf("the stored refresh token is not the provider's current one: %+v", info)
		}
	})
}

// TestQuirkRotation: Box answers every refresh with a new refresh token and
// retires the old one. Over several refreshes the store always holds the
// current refresh token and connkit never presents a retired one (which the
// provider would punish by revoking the grant).
func TestQuirkRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "box", fxOptions{server: oauthtest.Config{RotateRefreshTokens: true}})
		defer f.close()
		if !f.p.RotatesRefreshTokens {
			t.Fatal("box is not marked as rotating refresh tokens")
		}
		f.connect()
		prev := f.stored()
		for i := range 3 {
			time.Sleep(time.Hour)
			tok := f.token()
			st := f.stored()
			if st.RefreshToken.Equal(prev.RefreshToken) || !st.AccessToken.Equal(tok.AccessToken) {
				t.Fatalf("refresh %d: the new refresh token was not persisted with the new access token", i+1)
			}
			if info, _ := f.srv.Lookup(prev.RefreshToken.Reveal()); !info.Rotated {
				t.Errorf("refresh %d: the provider did not see the previous refresh token used", i+1)
			}
			if info, ok := f.srv.Lookup(st.RefreshToken.Reveal()); !ok || !info.Active {
				t.Errorf("refresh %d: the stored refresh token is not active at the provider", i+1)
			}
			prev = st
		}
		if n := f.srv.ReuseDetections(); n != 0 {
			t.Errorf("the provider detected %d reuses of a retired refresh token", n)
		}
		if n := f.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 3 {
			t.Errorf("refresh calls = %d, want 3", n)
		}
	})
}

// TestQuirkCallbackParam: QuickBooks names the company only in the realmId
// parameter of the callback; it lands in the connection's metadata and
// stays there across refreshes (QuickBooks also rotates refresh tokens).
func TestQuirkCallbackParam(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "quickbooks", fxOptions{server: oauthtest.Config{
			RotateRefreshTokens: true, ExtraCallbackParams: map[string]string{"realmId": "4620816365", "state2": "x"},
		}})
		defer f.close()
		f.connect()
		want := map[string]string{"realmId": "4620816365"}
		if diff := cmp.Diff(want, f.conn().Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
		first := f.stored()
		time.Sleep(time.Hour)
		f.token()
		if f.stored().RefreshToken.Equal(first.RefreshToken) {
			t.Error("the rotated refresh token was not persisted")
		}
		if diff := cmp.Diff(want, f.conn().Metadata); diff != "" {
			t.Errorf("metadata after refresh (-want +got):\n%s", diff)
		}
	})
}

// TestQuirkExtraFields: Pipedrive's api_domain is kept; Notion's workspace
// fields are kept while its tokens, which carry no expires_in and never
// expire, are not refreshed.
func TestQuirkExtraFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "pipedrive", fxOptions{server: oauthtest.Config{
			ExtraTokenFields: map[string]any{"api_domain": "https://acme.pipedrive.com", "other": "x"},
		}})
		defer f.close()
		f.connect()
		if diff := cmp.Diff(map[string]string{"api_domain": "https://acme.pipedrive.com"}, f.conn().Metadata); diff != "" {
			t.Errorf("pipedrive metadata (-want +got):\n%s", diff)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "notion", fxOptions{server: oauthtest.Config{
			AccessTokenTTL: -1, OmitRefreshToken: true,
			ExtraTokenFields: map[string]any{"workspace_id": "w-1", "workspace_name": "Acme", "bot_id": "b-1", "owner": map[string]any{"type": "user"}},
		}})
		defer f.close()
		f.connect()
		tok := f.stored()
		if want := time.Now().Add(providers.LongLived); !tok.Expiry.Equal(want) || !tok.RefreshToken.IsZero() {
			t.Errorf("notion token expiry %v (want %v), refresh token present %v", tok.Expiry, want, !tok.RefreshToken.IsZero())
		}
		if diff := cmp.Diff(map[string]string{"workspace_id": "w-1", "workspace_name": "Acme", "bot_id": "b-1"}, f.conn().Metadata); diff != "" {
			t.Errorf("notion metadata (-want +got):\n%s", diff)
		}
		time.Sleep(365 * 24 * time.Hour)
		if got := f.token(); !got.AccessToken.Equal(tok.AccessToken) {
			t.Error("a token that does not expire was replaced")
		}
		if n := f.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 0 {
			t.Errorf("refresh calls = %d, want 0", n)
		}
	})
}

// TestQuirkTenantURL: Shopify's endpoints live on the shop's own host. With
// shop=acme, CONNECT goes to acme.myshopify.com for both the browser and
// the token request; a shop value that is not a single DNS label stops
// CONNECT before any request, with an error naming the field and not the
// value.
func TestQuirkTenantURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "shopify", fxOptions{realURLs: true, server: oauthtest.Config{AccessTokenTTL: -1, OmitRefreshToken: true}})
		defer f.close()
		authURL := f.start()
		u, err := url.Parse(authURL)
		if err != nil || u.Host != "acme.myshopify.com" || u.Path != "/admin/oauth/authorize" {
			t.Fatalf("authorize URL = %s, want one on acme.myshopify.com", authURL)
		}
		if got := u.Query().Get("scope"); got != "read_products" {
			t.Errorf("scope = %q", got)
		}
		loc, err := f.srv.Authorize(context.Background(), f.fakeAuthorizeURL(authURL))
		if err != nil {
			t.Fatal(err)
		}
		f.callback(loc)
		if diff := cmp.Diff([]string{"acme.myshopify.com"}, f.router.seen()); diff != "" {
			t.Errorf("hosts the client called (-want +got):\n%s", diff)
		}
		tok := f.stored()
		if !f.srv.Active(tok.AccessToken.Reveal()) || !tok.Expiry.Equal(time.Now().Add(providers.LongLived)) {
			t.Errorf("stored token: active %v, expiry %v", f.srv.Active(tok.AccessToken.Reveal()), tok.Expiry)
		}
	})
	bad := []string{"evil.com/x", "a.b", "..", "x@evil.com", "%2e", "аcme", "evil.com#"}
	// The shop field's rule refuses such values when they are set.
	f := newFx(t, "shopify", fxOptions{realURLs: true})
	for _, b := range bad {
		err := f.mgr.SetValues(context.Background(), f.ref, template.AudienceHost, connection.ValuesOf(map[string]string{"shop": b}))
		if err == nil {
			t.Errorf("SetValues(shop=%q) succeeded", b)
		} else {
			requireValidationError(t, err, "shop", b)
		}
	}
	f.close()
	// With a host's entry whose shop field has no rule at all, the values
	// are stored, but CONNECT still refuses to fill them into a URL.
	noRule := func(p *providers.Provider) {
		for i := range p.Type.Fields {
			if p.Type.Fields[i].Key == "shop" {
				p.Type.Fields[i].Rule = ""
			}
		}
	}
	for _, b := range bad {
		f := newFx(t, "shopify", fxOptions{realURLs: true, provider: noRule, values: map[string]string{"shop": b}})
		_, err := f.flow.Start(context.Background(), f.ref)
		if !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("shop %q: Start = %v, want ErrMisconfigured", b, err)
		} else {
			requireValidationError(t, err, "shop", b)
		}
		if seen := f.router.seen(); len(seen) != 0 {
			t.Errorf("shop %q: requests went to %v", b, seen)
		}
		f.close()
	}
	// An empty shop is a missing required value.
	f = newFx(t, "shopify", fxOptions{realURLs: true, values: map[string]string{"shop": ""}})
	defer f.close()
	if _, err := f.flow.Start(context.Background(), f.ref); err == nil {
		t.Error("Start with an empty shop succeeded")
	} else {
		requireValidationError(t, err, "shop", "")
	}
}

// TestQuirkClientCredentials: PayPal's client credentials grant obtains a
// token without a browser, authenticating with HTTP Basic.
func TestQuirkClientCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFx(t, "paypal", fxOptions{})
		defer f.close()
		tok := f.token()
		if !f.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatal("the token is not one the provider issued")
		}
		if reqs := f.srv.TokenRequests(); len(reqs) != 1 || !reqs[0].HasBasic || reqs[0].GrantType != oauthtest.GrantClientCredentials {
			t.Errorf("token requests = %+v, want one client_credentials request with Basic auth", reqs)
		}
	})
}

func mustQuery(t testing.TB, s string) url.Values {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
