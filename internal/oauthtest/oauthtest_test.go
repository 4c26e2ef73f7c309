package oauthtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/connkit/connkit/internal/oauthtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	clientID     = "client-1"
	clientSecret = "s3cret/+&=" // characters that need form-encoding in Basic auth
	redirectURI  = "https://app.example/callback"
)

// newServer starts a server with one confidential client expecting auth.
func newServer(t *testing.T, style oauthtest.AuthStyle, cfg oauthtest.Config) *oauthtest.Server {
	t.Helper()
	cfg.Clients = append(cfg.Clients, oauthtest.Client{
		ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}, AuthStyle: style,
	})
	return oauthtest.New(t, cfg)
}

func oauthConfig(s *oauthtest.Server, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURI,
		Scopes:       []string{"read", "write"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   s.AuthorizeURL(),
			TokenURL:  s.TokenURL(),
			AuthStyle: style,
		},
	}
}

// clientCtx makes x/oauth2 talk to the server through its client.
func clientCtx(t *testing.T, s *oauthtest.Server) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, s.Client())
}

// authorize plays the browser and returns the callback query, failing the
// test unless the provider redirected to redirectURI.
func authorize(t *testing.T, s *oauthtest.Server, authURL string) url.Values {
	t.Helper()
	loc, err := s.Authorize(t.Context(), authURL)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %q, want %q", got, redirectURI)
	}
	return loc.Query()
}

// connect runs the whole code + PKCE flow and returns the token.
func connect(t *testing.T, s *oauthtest.Server, conf *oauth2.Config) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, s, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(clientCtx(t, s), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// oauthErrorCode returns the OAuth error code of a *oauth2.RetrieveError.
func oauthErrorCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *oauth2.RetrieveError", err)
	}
	return re.ErrorCode
}

func TestAuthCodePKCEHappyPath(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleHeader, oauthtest.Config{
		IssParameter:        true,
		ExtraCallbackParams: map[string]string{"realmId": "4620816365"},
	})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()

	q := authorize(t, s, conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier)))
	if q.Get("code") == "" || q.Get("state") != "state-123" || q.Get("iss") != s.Issuer() || q.Get("realmId") != "4620816365" {
		t.Fatalf("callback query = %v", q)
	}
	ars := s.AuthorizeRequests()
	if len(ars) != 1 {
		t.Fatalf("AuthorizeRequests = %d, want 1", len(ars))
	}
	ar := ars[0]
	ar.Query = nil
	want := oauthtest.AuthorizeRequest{
		ClientID: clientID, RedirectURI: redirectURI, ResponseType: "code", State: "state-123",
		Scope: "read write", CodeChallenge: ar.CodeChallenge, CodeChallengeMethod: "S256",
	}
	if diff := cmp.Diff(want, ar); diff != "" {
		t.Errorf("AuthorizeRequest (-want +got):\n%s", diff)
	}

	tok, err := conf.Exchange(clientCtx(t, s), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.IsZero() || tok.Type() != "Bearer" {
		t.Fatalf("token = %+v", tok)
	}
	if got := tok.Extra("scope"); got != "read write" {
		t.Errorf("scope = %v, want %q", got, "read write")
	}
	if !s.Active(tok.AccessToken) {
		t.Error("Active(access token) = false after exchange")
	}
	if s.Active(tok.RefreshToken) {
		t.Error("Active(refresh token) = true; Active is for access tokens")
	}
	if got := s.GrantCalls(oauthtest.GrantAuthorizationCode); got != 1 {
		t.Errorf("GrantCalls(authorization_code) = %d, want 1", got)
	}
	if tr := s.TokenRequests(); len(tr) != 1 || !tr[0].HasBasic || tr[0].Form.Get("code_verifier") != verifier {
		t.Errorf("TokenRequests = %+v", tr)
	}

	// The token works at the protected resource; garbage does not.
	hc := conf.Client(clientCtx(t, s), tok)
	resp, err := hc.Get(s.ResourceURL())
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || me["client_id"] != clientID {
		t.Fatalf("GET /api/me = %d %v %v", resp.StatusCode, me, err)
	}
	bad := oauthConfig(s, oauth2.AuthStyleInHeader).Client(clientCtx(t, s), &oauth2.Token{AccessToken: "nope"})
	resp, err = bad.Get(s.ResourceURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("GET /api/me with bad token = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestPKCE(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	conf := oauthConfig(s, oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, s, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	code := q.Get("code")

	if _, err := conf.Exchange(clientCtx(t, s), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(t, err) != "invalid_grant" {
		t.Errorf("wrong verifier: %v, want invalid_grant", err)
	}
	if _, err := conf.Exchange(clientCtx(t, s), code); oauthErrorCode(t, err) != "invalid_grant" {
		t.Errorf("missing verifier: %v, want invalid_grant", err)
	}
	// Plain method: the verifier itself is the challenge; S256 of it is not.
	q2 := authorize(t, s, conf.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", verifier),
		oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if _, err := conf.Exchange(clientCtx(t, s), q2.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("plain PKCE: %v", err)
	}
	// A verifier for a code issued without a challenge is refused.
	q3 := authorize(t, s, conf.AuthCodeURL("st"))
	if _, err := conf.Exchange(clientCtx(t, s), q3.Get("code"), oauth2.VerifierOption(verifier)); oauthErrorCode(t, err) != "invalid_grant" {
		t.Errorf("verifier without challenge: %v, want invalid_grant", err)
	}
	// The right verifier still works after the failures above.
	if _, err := conf.Exchange(clientCtx(t, s), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("right verifier: %v", err)
	}
}

func TestCodeReuseRejectedAndRevokesGrant(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	q := authorize(t, s, conf.AuthCodeURL("st"))
	tok, err := conf.Exchange(clientCtx(t, s), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conf.Exchange(clientCtx(t, s), q.Get("code"))
	if oauthErrorCode(t, err) != "invalid_grant" {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}
	if s.Active(tok.AccessToken) {
		t.Error("token from a reused code still active")
	}
	if info, _ := s.Lookup(tok.RefreshToken); !info.Revoked {
		t.Errorf("refresh token from a reused code: %+v, want revoked", info)
	}
}

func TestRedirectURIMustMatch(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)

	bad := *conf
	bad.RedirectURL = redirectURI + "/x"
	_, err := s.Authorize(t.Context(), bad.AuthCodeURL("st"))
	var ae *oauthtest.AuthorizeError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("unregistered redirect_uri: %v, want *AuthorizeError 400 (no redirect)", err)
	}

	// The token request must repeat the authorization request's redirect_uri.
	q := authorize(t, s, conf.AuthCodeURL("st"))
	if _, err := bad.Exchange(clientCtx(t, s), q.Get("code")); oauthErrorCode(t, err) != "invalid_grant" {
		t.Errorf("exchange with other redirect_uri: %v, want invalid_grant", err)
	}
}

func TestRotationReuseDetectionRevokesFamily(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{RotateRefreshTokens: true})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	first := connect(t, s, conf)

	refresh := func(rt string) (*oauth2.Token, error) {
		return conf.TokenSource(clientCtx(t, s), &oauth2.Token{RefreshToken: rt}).Token()
	}
	second, err := refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == first.RefreshToken || second.RefreshToken == "" {
		t.Fatalf("refresh token not rotated: %q -> %q", first.RefreshToken, second.RefreshToken)
	}
	third, err := refresh(second.RefreshToken)
	if err != nil {
		t.Fatalf("refresh with rotated token: %v", err)
	}
	if !s.Active(first.AccessToken) || !s.Active(third.AccessToken) {
		t.Fatal("access tokens inactive before reuse")
	}

	_, err = refresh(first.RefreshToken) // used already: reuse
	if oauthErrorCode(t, err) != "invalid_grant" {
		t.Fatalf("reuse: %v, want invalid_grant", err)
	}
	if got := s.ReuseDetections(); got != 1 {
		t.Errorf("ReuseDetections = %d, want 1", got)
	}
	for _, tok := range []*oauth2.Token{first, second, third} {
		if s.Active(tok.AccessToken) {
			t.Errorf("access token %d of the family still active", s.ReuseDetections())
		}
	}
	if _, err := refresh(third.RefreshToken); oauthErrorCode(t, err) != "invalid_grant" {
		t.Errorf("newest refresh token after reuse: %v, want invalid_grant", err)
	}

	// Another grant of the same client is untouched.
	other := connect(t, s, conf)
	if _, err := refresh(other.RefreshToken); err != nil {
		t.Errorf("refresh of an unrelated grant: %v", err)
	}
}

func TestRefreshWithoutRotationKeepsRefreshToken(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{RevokeAccessTokenOnRefresh: true})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	first := connect(t, s, conf)
	for range 2 {
		tok, err := conf.TokenSource(clientCtx(t, s), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != first.RefreshToken {
			t.Errorf("refresh token changed without rotation")
		}
		if !s.Active(tok.AccessToken) {
			t.Errorf("new access token inactive")
		}
	}
	if s.Active(first.AccessToken) {
		t.Error("old access token active despite RevokeAccessTokenOnRefresh")
	}
	if got := s.ReuseDetections(); got != 0 {
		t.Errorf("ReuseDetections = %d without rotation", got)
	}
}

func TestClientAuthStyle(t *testing.T) {
	tests := []struct {
		name       string
		server     oauthtest.AuthStyle
		client     oauth2.AuthStyle
		wantErr    string
		wantCalls  int
		wantSecret string
	}{
		{"header/header", oauthtest.AuthStyleHeader, oauth2.AuthStyleInHeader, "", 1, clientSecret},
		{"body/body", oauthtest.AuthStyleBody, oauth2.AuthStyleInParams, "", 1, clientSecret},
		{"header/body mismatch", oauthtest.AuthStyleHeader, oauth2.AuthStyleInParams, "invalid_client", 1, clientSecret},
		{"body/header mismatch", oauthtest.AuthStyleBody, oauth2.AuthStyleInHeader, "invalid_client", 1, clientSecret},
		{"body/autodetect falls back", oauthtest.AuthStyleBody, oauth2.AuthStyleAutoDetect, "", 2, clientSecret},
		{"any/body", oauthtest.AuthStyleAny, oauth2.AuthStyleInParams, "", 1, clientSecret},
		{"wrong secret", oauthtest.AuthStyleAny, oauth2.AuthStyleInHeader, "invalid_client", 1, "wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.server, oauthtest.Config{})
			cc := clientcredentials.Config{
				ClientID: clientID, ClientSecret: tt.wantSecret, TokenURL: s.TokenURL(), AuthStyle: tt.client,
			}
			tok, err := cc.Token(clientCtx(t, s))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if !s.Active(tok.AccessToken) || tok.RefreshToken != "" {
					t.Errorf("token %+v: active=%v", tok, s.Active(tok.AccessToken))
				}
			} else {
				if got := oauthErrorCode(t, err); got != tt.wantErr {
					t.Errorf("error %q, want %q", got, tt.wantErr)
				}
				var re *oauth2.RetrieveError
				if errors.As(err, &re) && re.Response.StatusCode != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", re.Response.StatusCode)
				}
			}
			if got := s.GrantCalls(oauthtest.GrantClientCredentials); got != tt.wantCalls {
				t.Errorf("GrantCalls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestPublicClient(t *testing.T) {
	s := oauthtest.New(t, oauthtest.Config{RequirePKCE: true, Clients: []oauthtest.Client{
		{ID: "pub", RedirectURIs: []string{redirectURI}},
	}})
	conf := &oauth2.Config{ClientID: "pub", RedirectURL: redirectURI, Endpoint: oauth2.Endpoint{
		AuthURL: s.AuthorizeURL(), TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInParams,
	}}
	if q := authorize(t, s, conf.AuthCodeURL("st")); q.Get("error") != "invalid_request" {
		t.Errorf("no PKCE with RequirePKCE: %v, want error=invalid_request", q)
	}
	tok := connect(t, s, conf)
	if !s.Active(tok.AccessToken) {
		t.Error("public client token inactive")
	}
	cc := clientcredentials.Config{ClientID: "pub", TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInParams}
	if _, err := cc.Token(clientCtx(t, s)); oauthErrorCode(t, err) != "unauthorized_client" {
		t.Errorf("client_credentials for a public client: %v", err)
	}
}
