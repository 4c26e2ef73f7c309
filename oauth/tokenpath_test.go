package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// nestedFx is a fake provider that nests its token set under "authed_user"
// and puts a decoy token at the top level, as Slack does for user tokens.
func nestedFx(t *testing.T, nest func(grant string, body map[string]any)) (*oauthtest.Server, *oauth.Endpoint, *http.Client) {
	t.Helper()
	srv := oauthtest.NewUnstarted(t, oauthtest.Config{
		Clients:       []oauthtest.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"https://app.example/cb"}}},
		TokenResponse: nest,
	})
	typ := connection.MustDeclare(connection.Type{Key: "nested", OAuth2: &connection.OAuth2{
		AuthorizeURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), PKCE: connection.PKCEOff,
		TokenPath: []string{"authed_user"}, TokenResponseFields: []string{"app_id", "id"},
	}})
	ep, err := oauth.NewEndpoint(&typ, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "c", connection.FieldClientSecret: "s",
	}), "https://app.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	return srv, ep, oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport(), Retries: -1})
}

func slackLike(_ string, body map[string]any) {
	user := map[string]any{"id": "U1"}
	for _, k := range []string{"access_token", "refresh_token", "expires_in", "scope", "token_type"} {
		if v, ok := body[k]; ok {
			user[k] = v
			delete(body, k)
		}
	}
	body["authed_user"] = user
	body["access_token"] = "xoxb-decoy"
	body["refresh_token"] = "decoy-refresh"
	body["token_type"] = "bot"
	body["app_id"] = "A1"
}

func code(t *testing.T, srv *oauthtest.Server, ep *oauth.Endpoint) string {
	t.Helper()
	loc, err := srv.Authorize(context.Background(), ep.AuthCodeURL("state-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("code")
}

// TestTokenPathLiftsNestedToken reads the token set from the nested object
// on exchange and refresh, never the decoy at the top level, and keeps the
// other top-level members for TokenResponseFields.
func TestTokenPathLiftsNestedToken(t *testing.T) {
	srv, ep, client := nestedFx(t, slackLike)
	ctx := context.Background()
	tok, ot, err := ep.Exchange(ctx, client, code(t, srv, ep), "")
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if a := tok.AccessToken.Reveal(); a == "xoxb-decoy" || !srv.Active(a) {
		t.Errorf("access token is not the nested one the provider issued")
	}
	if info, ok := srv.Lookup(tok.RefreshToken.Reveal()); !ok || info.Type != "refresh_token" {
		t.Errorf("refresh token is not the nested one: %+v", info)
	}
	if tok.TokenType != "Bearer" {
		t.Errorf("token type = %q, want the nested Bearer", tok.TokenType)
	}
	if got := ep.ExtraFields(ot); got["app_id"] != "A1" || got["id"] != "U1" {
		t.Errorf("extra fields = %v", got)
	}
	next, _, err := ep.Refresh(ctx, client, tok.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if a := next.AccessToken.Reveal(); a == "xoxb-decoy" || a == tok.AccessToken.Reveal() || !srv.Active(a) {
		t.Errorf("refreshed access token is not a new nested one")
	}
}

// TestTokenPathMissingObject fails the exchange rather than taking the
// top-level token when the nested object is absent.
func TestTokenPathMissingObject(t *testing.T) {
	srv, ep, client := nestedFx(t, func(_ string, body map[string]any) { body["access_token"] = "xoxb-decoy" })
	_, _, err := ep.Exchange(context.Background(), client, code(t, srv, ep), "")
	var te *oauth.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("Exchange without the nested object = %v, want a *TokenError", err)
	}
}

// TestTokenPathErrorAnswer keeps a provider's 200 error answer (Slack's
// ok:false) readable as an OAuth error.
func TestTokenPathErrorAnswer(t *testing.T) {
	srv, ep, client := nestedFx(t, func(_ string, body map[string]any) {
		clear(body)
		body["ok"] = false
		body["error"] = "invalid_code"
	})
	_, _, err := ep.Exchange(context.Background(), client, code(t, srv, ep), "")
	var te *oauth.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_code" {
		t.Fatalf("Exchange = %v, want a *TokenError with code invalid_code", err)
	}
}
