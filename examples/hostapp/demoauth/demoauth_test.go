package demoauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/hostapp/demoauth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	clientID     = "demo-app"
	clientSecret = "demo-app-secret"
	redirectURI  = "http://127.0.0.1:9/oauth/callback"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv    *demoauth.Server
	ts     *httptest.Server
	conf   *oauth2.Config
	client *http.Client // does not follow redirects
	clock  *clock
}

func newEnv(t *testing.T, key []byte) *env {
	t.Helper()
	c := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	srv, err := demoauth.New(demoauth.Config{
		Key:     key,
		Clients: []demoauth.Client{{ID: clientID, Secret: connection.NewSecret(clientSecret), Name: "Demo App", RedirectURIs: []string{redirectURI}}},
		Users:   []demoauth.User{{Username: "demo", Password: connection.NewSecret("demo"), Name: "Demo User"}},
		Scopes:  []string{"projects:read", "projects:write"},
		Now:     c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{srv: srv, ts: ts, clock: c,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		conf: &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURI, Scopes: []string{"projects:read"},
			Endpoint: oauth2.Endpoint{AuthURL: ts.URL + demoauth.PathAuthorize, TokenURL: ts.URL + demoauth.PathToken, AuthStyle: oauth2.AuthStyleInHeader}},
	}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

var requestID = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// open GETs an authorize URL and returns the status, the request id of the
// consent form (if any) and the redirect location (if any).
func (e *env) open(t *testing.T, authURL string) (int, string, *url.URL) {
	t.Helper()
	resp, err := e.client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc, _ := resp.Location()
	id := ""
	if m := requestID.FindSubmatch(body); m != nil {
		id = string(m[1])
	}
	return resp.StatusCode, id, loc
}

// submit posts the consent form.
func (e *env) submit(t *testing.T, id, user, password, action string) (int, string, *url.URL) {
	t.Helper()
	resp, err := e.client.PostForm(e.ts.URL+demoauth.PathAuthorize, url.Values{
		"request_id": {id}, "username": {user}, "password": {password}, "action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc, _ := resp.Location()
	return resp.StatusCode, string(body), loc
}

// connect runs the whole code flow and returns the token.
func (e *env) connect(t *testing.T) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	_, id, _ := e.open(t, e.conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier)))
	if id == "" {
		t.Fatal("no consent form")
	}
	status, _, loc := e.submit(t, id, "demo", "demo", "approve")
	if status != http.StatusSeeOther || loc == nil || loc.Query().Get("state") != "st-1" {
		t.Fatalf("approve: %d %v", status, loc)
	}
	tok, err := e.conf.Exchange(e.ctx(t), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) ctx(t *testing.T) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, e.ts.Client())
}

func TestCodeFlow(t *testing.T) {
	e := newEnv(t, testKey)
	tok := e.connect(t)
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token = type %q, refresh %v, expiry %v", tok.TokenType, tok.RefreshToken != "", tok.Expiry)
	}
	g, ok := e.srv.Introspect(tok.AccessToken)
	if !ok || g.User != "demo" || g.Client != clientID || len(g.Scopes) != 1 || g.Scopes[0] != "projects:read" {
		t.Errorf("Introspect = %+v, %v", g, ok)
	}
	if _, ok := e.srv.Introspect(tok.RefreshToken); ok {
		t.Error("a refresh token passed as an access token")
	}
}

func TestConsentPage(t *testing.T) {
	e := newEnv(t, testKey)
	resp, err := e.client.Get(e.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9;") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q, want form-action limited to itself and the redirect URI's origin", csp)
	}
	for _, want := range []string{"Demo App", "projects:read", `name="password"`, `id="approve"`, "demo"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(string(body)), "<script") {
		t.Error("consent page has a script")
	}
}

func TestWrongPasswordThenApprove(t *testing.T) {
	e := newEnv(t, testKey)
	_, id, _ := e.open(t, e.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	status, body, loc := e.submit(t, id, "demo", "wrong", "approve")
	if status != http.StatusUnauthorized || loc != nil || !strings.Contains(body, "Wrong user name or password") {
		t.Fatalf("wrong password: %d, redirect %v", status, loc)
	}
	if status, _, loc := e.submit(t, id, "demo", "demo", "approve"); status != http.StatusSeeOther || loc.Query().Get("code") == "" {
		t.Fatalf("approve after a typo: %d %v", status, loc)
	}
	if status, _, _ := e.submit(t, id, "demo", "demo", "approve"); status != http.StatusBadRequest {
		t.Errorf("a consent request answered twice: %d", status)
	}
}

func TestTooManyWrongPasswords(t *testing.T) {
	e := newEnv(t, testKey)
	_, id, _ := e.open(t, e.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	var loc *url.URL
	for range 5 {
		_, _, loc = e.submit(t, id, "demo", "guess", "approve")
	}
	if loc == nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("after five wrong passwords: redirect %v, want access_denied", loc)
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t, testKey)
	_, id, _ := e.open(t, e.conf.AuthCodeURL("st-9", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	status, _, loc := e.submit(t, id, "", "", "deny")
	if status != http.StatusSeeOther || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-9" ||
		!strings.HasPrefix(loc.String(), redirectURI+"?") {
		t.Fatalf("deny: %d %v", status, loc)
	}
}

func TestUntrustedRequestsAreNotRedirected(t *testing.T) {
	e := newEnv(t, testKey)
	base := e.ts.URL + demoauth.PathAuthorize + "?response_type=code&code_challenge_method=S256&code_challenge=x&state=s"
	for name, q := range map[string]string{
		"unknown client":        "&client_id=other&redirect_uri=" + url.QueryEscape(redirectURI),
		"unregistered redirect": "&client_id=" + clientID + "&redirect_uri=" + url.QueryEscape("https://evil.example/cb"),
		"redirect prefix":       "&client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(redirectURI+"/more"),
		"repeated redirect_uri": "&client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(redirectURI) + "&redirect_uri=x",
		"no client":             "",
	} {
		status, _, loc := e.open(t, base+q)
		if status != http.StatusBadRequest || loc != nil {
			t.Errorf("%s: %d, redirect %v; want 400 without redirect", name, status, loc)
		}
	}
}

func TestRequestErrorsRedirect(t *testing.T) {
	e := newEnv(t, testKey)
	for name, tc := range map[string]struct{ url, code string }{
		"no PKCE":       {e.conf.AuthCodeURL("s"), "invalid_request"},
		"plain PKCE":    {e.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")), "invalid_request"},
		"unknown scope": {e.conf.AuthCodeURL("s", oauth2.S256ChallengeOption("v"), oauth2.SetAuthURLParam("scope", "admin")), "invalid_scope"},
		"token response": {strings.Replace(e.conf.AuthCodeURL("s", oauth2.S256ChallengeOption("v")), "response_type=code", "response_type=token", 1),
			"unsupported_response_type"},
	} {
		status, _, loc := e.open(t, tc.url)
		if status != http.StatusSeeOther || loc == nil || loc.Query().Get("error") != tc.code || loc.Query().Get("state") != "s" {
			t.Errorf("%s: %d %v, want a redirect with error %s", name, status, loc, tc.code)
		}
	}
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestExchangeChecks(t *testing.T) {
	e := newEnv(t, testKey)
	verifier := oauth2.GenerateVerifier()
	code := func() string {
		_, id, _ := e.open(t, e.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		_, _, loc := e.submit(t, id, "demo", "demo", "approve")
		return loc.Query().Get("code")
	}
	if _, err := e.conf.Exchange(e.ctx(t), code(), oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("wrong verifier: %v, want invalid_grant", err)
	}
	if _, err := e.conf.Exchange(e.ctx(t), code()); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("no verifier: %v, want invalid_grant", err)
	}
	bad := *e.conf
	bad.ClientSecret = "nope"
	if _, err := bad.Exchange(e.ctx(t), code(), oauth2.VerifierOption(verifier)); oauthErrorCode(err) != "invalid_client" {
		t.Errorf("wrong client secret: %v, want invalid_client", err)
	}
	// A code works once; its second use revokes what the first issued.
	c := code()
	tok, err := e.conf.Exchange(e.ctx(t), c, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.conf.Exchange(e.ctx(t), c, oauth2.VerifierOption(verifier)); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("code reuse: %v, want invalid_grant", err)
	}
	if _, ok := e.srv.Introspect(tok.AccessToken); ok {
		t.Error("tokens of a reused code stay valid")
	}
	// Codes expire.
	c = code()
	e.clock.Add(demoauth.DefaultCodeTTL + time.Second)
	if _, err := e.conf.Exchange(e.ctx(t), c, oauth2.VerifierOption(verifier)); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("expired code: %v, want invalid_grant", err)
	}
}

func refresh(t *testing.T, e *env, rt string) (*oauth2.Token, error) {
	t.Helper()
	return e.conf.TokenSource(e.ctx(t), &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, testKey)
	first := e.connect(t)
	e.clock.Add(demoauth.DefaultAccessTokenTTL + time.Second)
	if _, ok := e.srv.Introspect(first.AccessToken); ok {
		t.Fatal("an expired access token introspects as valid")
	}
	second, err := refresh(t, e, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if _, ok := e.srv.Introspect(second.AccessToken); !ok {
		t.Fatal("refreshed access token is not valid")
	}
	// Reusing the rotated refresh token revokes the whole grant.
	if _, err := refresh(t, e, first.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("refresh token reuse: %v, want invalid_grant", err)
	}
	if _, ok := e.srv.Introspect(second.AccessToken); ok {
		t.Error("the grant survived refresh token reuse")
	}
	if _, err := refresh(t, e, second.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after the grant was revoked: %v, want invalid_grant", err)
	}
}

func revoke(t *testing.T, e *env, tok, hint, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+demoauth.PathRevoke,
		strings.NewReader(url.Values{"token": {tok}, "token_type_hint": {hint}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, testKey)
	tok := e.connect(t)
	if got := revoke(t, e, tok.RefreshToken, "refresh_token", "wrong"); got != http.StatusUnauthorized {
		t.Errorf("revoke with a wrong secret: %d, want 401", got)
	}
	if _, ok := e.srv.Introspect(tok.AccessToken); !ok {
		t.Fatal("a refused revocation revoked")
	}
	if got := revoke(t, e, tok.RefreshToken, "refresh_token", clientSecret); got != http.StatusOK {
		t.Fatalf("revoke: %d", got)
	}
	if _, ok := e.srv.Introspect(tok.AccessToken); ok {
		t.Error("access token valid after its grant's refresh token was revoked")
	}
	if _, err := refresh(t, e, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh with a revoked token: %v", err)
	}
	if got := revoke(t, e, "not-a-token", "access_token", clientSecret); got != http.StatusOK {
		t.Errorf("revoke of an unknown token: %d, want 200 (RFC 7009)", got)
	}
}

// Tokens are signed, not stored: a restart with the same key keeps them; a
// server with another key refuses them.
func TestTokensSurviveRestart(t *testing.T) {
	e := newEnv(t, testKey)
	tok := e.connect(t)
	again := newEnv(t, testKey)
	again.clock.t = e.clock.Now()
	if _, ok := again.srv.Introspect(tok.AccessToken); !ok {
		t.Error("a restarted server with the same key refuses its tokens")
	}
	other := newEnv(t, []byte("another key, also 32 bytes long!"))
	other.clock.t = e.clock.Now()
	if _, ok := other.srv.Introspect(tok.AccessToken); ok {
		t.Error("a server with another key accepts the tokens")
	}
	forged := tok.AccessToken[:len(tok.AccessToken)-2] + "AA"
	if _, ok := e.srv.Introspect(forged); ok {
		t.Error("a token with a changed signature is accepted")
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := demoauth.New(demoauth.Config{Key: []byte("short")}); err == nil {
		t.Fatal("New accepted a short key, no clients and no users")
	}
	_, err := demoauth.New(demoauth.Config{Key: testKey,
		Clients: []demoauth.Client{{ID: "c", Secret: connection.NewSecret("s"), RedirectURIs: []string{"/relative"}}},
		Users:   []demoauth.User{{Username: "u", Password: connection.NewSecret("p")}}})
	if err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative redirect URI: err = %v", err)
	}
}
