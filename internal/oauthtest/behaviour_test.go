package oauthtest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/connkit/connkit/internal/oauthtest"
)

func TestMetadataDocument(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{IssParameter: true, Scopes: []string{"read", "write"}})
	resp, err := s.Client().Get(s.URL() + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                         s.URL(),
		"authorization_endpoint":                         s.URL() + "/authorize",
		"token_endpoint":                                 s.URL() + "/token",
		"revocation_endpoint":                            s.URL() + "/revoke",
		"response_types_supported":                       []any{"code"},
		"response_modes_supported":                       []any{"query"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token", "client_credentials"},
		"code_challenge_methods_supported":               []any{"S256", "plain"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []any{"client_secret_basic", "client_secret_post", "none"},
		"authorization_response_iss_parameter_supported": true,
		"scopes_supported":                               []any{"read", "write"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if s.Issuer() != s.URL() || s.MetadataURL() != s.URL()+"/.well-known/oauth-authorization-server" {
		t.Errorf("Issuer %q, MetadataURL %q", s.Issuer(), s.MetadataURL())
	}
}

func TestMetadataHookAndIssuerOverride(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{
		Issuer:       "https://evil.example",
		IssParameter: true,
		Metadata:     func(doc map[string]any) { delete(doc, "code_challenge_methods_supported") },
	})
	resp, err := s.Client().Get(s.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["code_challenge_methods_supported"]; ok || got["issuer"] != "https://evil.example" {
		t.Errorf("metadata = %v", got)
	}
	q := authorize(t, s, oauthConfig(s, oauth2.AuthStyleInHeader).AuthCodeURL("st"))
	if q.Get("iss") != "https://evil.example" {
		t.Errorf("iss = %q", q.Get("iss"))
	}
}

func TestConsentOutcomes(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{
		DenyDescription:     "nope",
		ExtraCallbackParams: map[string]string{"realmId": "1"},
	})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)

	s.SetConsent(oauthtest.ConsentDeny)
	q := authorize(t, s, conf.AuthCodeURL("st1"))
	want := url.Values{"error": {"access_denied"}, "error_description": {"nope"}, "state": {"st1"}}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("deny callback (-want +got):\n%s", diff)
	}

	s.SetConsent(oauthtest.ConsentInvalidScope)
	q = authorize(t, s, conf.AuthCodeURL("st2"))
	if q.Get("error") != "invalid_scope" || q.Get("state") != "st2" || q.Has("code") {
		t.Errorf("invalid_scope callback = %v", q)
	}

	// The consent form, driven by hand: deny, then approve.
	s.SetConsent(oauthtest.ConsentForm)
	page := func() string {
		resp, err := s.Client().Get(conf.AuthCodeURL("st3"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("consent page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return string(b)
	}
	submit := func(body, action string) (*http.Response, url.Values) {
		const marker = `name="request_id" value="`
		i := strings.Index(body, marker)
		if i < 0 {
			t.Fatalf("no request_id in consent page:\n%s", body)
		}
		id := body[i+len(marker):]
		id = id[:strings.IndexByte(id, '"')]
		resp, err := s.Client().PostForm(s.AuthorizeURL(), url.Values{"request_id": {id}, "action": {action}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		if loc == nil {
			return resp, nil
		}
		return resp, loc.Query()
	}
	p := page()
	if _, q := submit(p, "deny"); q.Get("error") != "access_denied" {
		t.Errorf("form deny: %v", q)
	}
	if resp, _ := submit(p, "approve"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("resubmitting a used consent request: %d, want 400", resp.StatusCode)
	}
	if _, q := submit(page(), "approve"); q.Get("code") == "" || q.Get("state") != "st3" || q.Get("realmId") != "1" {
		t.Errorf("form approve: %v", q)
	}

	// Authorize submits the form itself.
	verifier := oauth2.GenerateVerifier()
	q = authorize(t, s, conf.AuthCodeURL("st4", oauth2.S256ChallengeOption(verifier)))
	if _, err := conf.Exchange(clientCtx(t, s), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("exchange after form consent: %v", err)
	}
}

func TestAuthorizeRequestErrors(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{Scopes: []string{"read"}})
	base := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "state": {"st"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return s.AuthorizeURL() + "?" + q.Encode()
	}
	tests := []struct {
		name      string
		url       string
		wantError string // "" with wantStatus: no redirect
		wantCode  bool
	}{
		{"ok", with("scope", "read"), "", true},
		{"redirect_uri omitted, one registered", with("redirect_uri", ""), "", true},
		{"unknown scope", with("scope", "read admin"), "invalid_scope", false},
		{"token response type", with("response_type", "token"), "unsupported_response_type", false},
		{"bad challenge method", with("code_challenge_method", "S512"), "invalid_request", false},
		{"short challenge", with("code_challenge", "abc"), "invalid_request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := s.Authorize(t.Context(), tt.url)
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if q.Get("error") != tt.wantError || q.Has("code") != tt.wantCode || q.Get("state") != "st" {
				t.Errorf("callback = %v, want error %q, code %v", q, tt.wantError, tt.wantCode)
			}
		})
	}
	for name, u := range map[string]string{
		"unknown client":        with("client_id", "other"),
		"missing client":        with("client_id", ""),
		"unregistered redirect": with("redirect_uri", "https://evil.example/cb"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Authorize(t.Context(), u)
			var ae *oauthtest.AuthorizeError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Errorf("got %v, want an *AuthorizeError 400 and no redirect", err)
			}
		})
	}
}

func TestTokenResponseShape(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{
		OmitExpiresIn:    true,
		OmitRefreshToken: true,
		OmitScope:        true,
		ExtraTokenFields: map[string]any{"instance_url": "https://na1.example"},
		// Slack-style: the user token nested in authed_user.
		TokenResponse: func(grant string, body map[string]any) {
			if grant != oauthtest.GrantAuthorizationCode {
				return
			}
			body["authed_user"] = map[string]any{"access_token": body["access_token"], "token_type": "user"}
			body["access_token"] = "xoxb-bot"
		},
	})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	q := authorize(t, s, conf.AuthCodeURL("st"))
	tok, err := conf.Exchange(clientCtx(t, s), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expiry.IsZero() || tok.RefreshToken != "" || tok.Extra("scope") != nil {
		t.Errorf("token %+v: want no expiry, refresh token or scope", tok)
	}
	if tok.Extra("instance_url") != "https://na1.example" || tok.AccessToken != "xoxb-bot" {
		t.Errorf("token %+v, instance_url %v", tok, tok.Extra("instance_url"))
	}
	user, _ := tok.Extra("authed_user").(map[string]any)
	at, _ := user["access_token"].(string)
	if !s.Active(at) {
		t.Errorf("nested user token %q inactive", at)
	}
	if info, ok := s.Lookup(at); !ok || info.Expiry.IsZero() {
		t.Errorf("Lookup = %+v, %v; omitting expires_in must not make the token immortal", info, ok)
	}
}

func TestInterceptTakesOver(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{
		Intercept: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != oauthtest.PathToken {
				return false
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>proxy error</html>")
			return true
		},
	})
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL()}
	_, err := cc.Token(clientCtx(t, s))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %v, want the intercepted 502", err)
	}
	if s.Calls(oauthtest.PathToken) != 2 || s.GrantCalls(oauthtest.GrantClientCredentials) != 0 {
		// x/oauth2 auto-detection tries twice; the server never parsed them.
		t.Errorf("Calls(token) = %d, GrantCalls = %d", s.Calls(oauthtest.PathToken), s.GrantCalls(oauthtest.GrantClientCredentials))
	}
	if resp, err := s.Client().Get(s.MetadataURL()); err != nil || resp.StatusCode != 200 {
		t.Errorf("metadata not intercepted: %v", err)
	} else {
		resp.Body.Close()
	}
}

func TestTransportServesOnlyTheServer(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	hc := &http.Client{Transport: s.Transport()}
	resp, err := hc.Get(s.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("in-memory metadata: %d", resp.StatusCode)
	}
	if _, err := hc.Get("https://elsewhere.example/"); err == nil {
		t.Error("transport served a request for another host")
	}
	if s.Calls(oauthtest.PathMetadata) != 1 {
		t.Errorf("Calls(metadata) = %d, want 1", s.Calls(oauthtest.PathMetadata))
	}
}

// postToken posts form to the token endpoint with HTTP Basic client auth.
func postToken(t *testing.T, s *oauthtest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, body
}

func TestRefreshScopeNarrowing(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	tok := connect(t, s, oauthConfig(s, oauth2.AuthStyleInHeader))
	refresh := func(scope string) (int, map[string]any) {
		return postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {scope}})
	}
	if status, body := refresh("read"); status != 200 || body["scope"] != "read" {
		t.Errorf("narrowed refresh: %d %v", status, body)
	}
	if status, body := refresh("read admin"); status != 400 || body["error"] != "invalid_scope" {
		t.Errorf("widened refresh: %d %v, want invalid_scope", status, body)
	}
	// Narrowing one refresh does not narrow the grant.
	if status, body := refresh("read write"); status != 200 || body["scope"] != "read write" {
		t.Errorf("full-scope refresh after narrowing: %d %v", status, body)
	}
}

func TestTokenRequestErrors(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"no grant type", url.Values{}, "invalid_request"},
		{"unknown grant type", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{"no code", url.Values{"grant_type": {"authorization_code"}}, "invalid_request"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "invalid_grant"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "invalid_grant"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postToken(t, s, tt.form)
			if status != 400 || body["error"] != tt.want {
				t.Errorf("got %d %v, want 400 %s", status, body, tt.want)
			}
		})
	}
}

// TestConcurrentUse hammers one server from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{RotateRefreshTokens: true})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			v := oauth2.GenerateVerifier()
			loc, err := s.Authorize(t.Context(), conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
			if err != nil {
				errs <- err
				return
			}
			tok, err := conf.Exchange(clientCtx(t, s), loc.Query().Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				errs <- err
				return
			}
			tok.Expiry = tok.Expiry.Add(-2 * 3600e9) // force a refresh
			if _, err := conf.TokenSource(clientCtx(t, s), tok).Token(); err != nil {
				errs <- err
			}
			_ = s.Revocations()
			_ = s.TokenRequests()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.GrantCalls(oauthtest.GrantRefreshToken); got != n {
		t.Errorf("GrantCalls(refresh_token) = %d, want %d", got, n)
	}
}
