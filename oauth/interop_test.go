package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	zstorage "github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// The interop test runs connkit's flows against an independently written
// authorization server: the OpenID Provider of github.com/zitadel/oidc/v3
// (pkg/op) with its example in-memory storage and login UI, served in
// process on loopback. Nothing of it is faked.

const (
	zRedirectURL   = "https://app.example/oauth/callback"
	zClientID      = "web"
	zClientSecret  = "interop-secret"
	zServiceID     = "sid1"       // the example storage's client-credentials service user
	zServiceSecret = "verysecret" // and its secret
	zPassword      = "verysecure" // the example user store's password
	zVariable      = "Zitadel"
	zServiceVar    = "Zitadel Service"
)

// zitadelProvider starts the provider on a loopback port and returns its
// issuer.
func zitadelProvider(t *testing.T) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	users := zstorage.NewUserStore(issuer)
	st := zstorage.NewStorageWithClients(users, map[string]*zstorage.Client{
		zClientID: zstorage.WebClient(zClientID, zClientSecret, zRedirectURL),
	})
	ts.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	ts.Start()
	t.Cleanup(ts.Close)
	return issuer
}

// zitadelBrowser plays the customer's browser: it follows the provider's
// redirects, fills in its login form, and stops at the redirect to the
// host's callback, which it returns.
func zitadelBrowser(t *testing.T, issuer, authURL string) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), zRedirectURL) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	defer b.CloseIdleConnections()
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login/username" {
		t.Fatalf("expected the login form, got %d at %s: %.300s", resp.StatusCode, resp.Request.URL, page)
	}
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no auth request id in the login form: %.500s", page)
	}
	host := strings.TrimPrefix(issuer, "http://")
	host = host[:strings.LastIndexByte(host, ':')]
	resp, err = b.PostForm(issuer+"/login/username", url.Values{
		"id": {string(m[1])}, "username": {"test-user@" + host}, "password": {zPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), zRedirectURL) {
		t.Fatalf("login did not redirect to the callback: %d %v %.300s", resp.StatusCode, err, body)
	}
	return loc
}

// zitadelUserinfo reports whether the provider accepts the access token.
func zitadelUserinfo(t *testing.T, client *http.Client, issuer string, tok oauth.Token) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestInteropZitadel(t *testing.T) {
	issuer := zitadelProvider(t)
	ctx := context.Background()

	// A code-grant type whose endpoints come from discovery, and a
	// client-credentials type, both at the same issuer.
	codeType := connection.MustDeclare(connection.Type{Key: "zitadel", Label: "Zitadel",
		Fields: []connection.Field{
			{Key: connection.FieldAuthorizeURL, Kind: connection.KindURL, Required: true},
			{Key: connection.FieldTokenURL, Kind: connection.KindURL, Required: true},
		},
		OAuth2: &connection.OAuth2{Scopes: []string{"openid", "offline_access", "profile"}}})
	ccType := connection.MustDeclare(connection.Type{Key: "zitadel-service", Label: "Zitadel service",
		Fields: []connection.Field{{Key: connection.FieldTokenURL, Kind: connection.KindURL, Required: true}},
		OAuth2: &connection.OAuth2{Grant: connection.GrantClientCredentials, Scopes: []string{"openid"}}})

	st := memory.New(memory.Options{})
	k, _ := keyring.GenerateKey(1)
	kr, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	mgr := template.New(st, kr, template.Options{})
	if err := mgr.Register(template.Integration{ID: "int", Version: 1, Variables: []connection.Variable{
		{Key: zVariable, Type: codeType}, {Key: zServiceVar, Type: ccType}}}); err != nil {
		t.Fatal(err)
	}
	if err := mgr.Deploy(ctx, connection.Instance{ID: "inst", IntegrationID: "int", IntegrationVersion: 1}); err != nil {
		t.Fatal(err)
	}
	ref := connection.Ref{InstanceID: "inst", Variable: zVariable}
	svc := connection.Ref{InstanceID: "inst", Variable: zServiceVar}
	set := func(r connection.Ref, id, secret string) {
		if err := mgr.SetValues(ctx, r, template.AudienceHost, connection.ValuesOf(map[string]string{
			connection.FieldClientID: id, connection.FieldClientSecret: secret})); err != nil {
			t.Fatal(err)
		}
	}
	set(ref, zClientID, zClientSecret)
	set(svc, zServiceID, zServiceSecret)

	sched := &flowSched{}
	flow, err := oauth.NewFlow(oauth.FlowConfig{
		Store: st, Sealer: kr, Resolver: mgr, RedirectURL: zRedirectURL, Scheduler: sched,
		// The default client (retries, no redirects, body cap), with the
		// SSRF guard letting loopback through.
		AllowPrivateNetworks: true,
		// The test plays the browser with Start.
		AllowUnboundConnect: true,
		Issuer:              oauth.IssuerByType(map[string]string{"zitadel": issuer, "zitadel-service": issuer}),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := flow.HTTPClient()
	t.Cleanup(client.CloseIdleConnections)

	// Discovery: zitadel serves no RFC 8414 document, so the OpenID
	// Connect one is used; its issuer must match.
	md, err := oauth.Discover(ctx, client, issuer)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if md.TokenEndpoint != issuer+"/oauth/token" || md.RevocationEndpoint != issuer+"/revoke" || !md.SupportsPKCE("S256") {
		t.Errorf("metadata = %+v", md)
	}
	if _, err := oauth.Discover(ctx, client, issuer+"/"); !errors.Is(err, oauth.ErrIssuerMismatch) {
		t.Errorf("Discover with another issuer spelling = %v, want ErrIssuerMismatch", err)
	}

	// CONNECT: authorize (login form), callback, code exchange with PKCE.
	connect := func() oauth.Token {
		t.Helper()
		authURL, err := flow.Start(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		if u.Path != "/auth" || u.Query().Get("code_challenge_method") != "S256" {
			t.Fatalf("authorize URL %s", authURL)
		}
		loc := zitadelBrowser(t, issuer, authURL)
		rec := httptest.NewRecorder()
		flow.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, loc.String(), nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Authorization completed successfully") {
			t.Fatalf("callback = %d %s", rec.Code, rec.Body.String())
		}
		c, err := st.GetConnection(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := oauth.OpenToken(kr, c.ID, c.Token)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken.IsZero() || !c.Token.Refreshable || c.Health.Status != connection.StatusConfigured {
			t.Fatalf("stored connection: refreshable %v health %+v", c.Token.Refreshable, c.Health)
		}
		return tok
	}
	tok := connect()
	if code := zitadelUserinfo(t, client, issuer, tok); code != http.StatusOK {
		t.Fatalf("userinfo with the access token = %d", code)
	}
	c, _ := st.GetConnection(ctx, ref)
	if !sched.holds(c.ID) {
		t.Error("connection not scheduled for refresh")
	}

	// Refresh: zitadel rotates refresh tokens; the old one stops working.
	values := connection.ValuesOf(map[string]string{connection.FieldClientID: zClientID, connection.FieldClientSecret: zClientSecret,
		connection.FieldAuthorizeURL: md.AuthorizationEndpoint, connection.FieldTokenURL: md.TokenEndpoint})
	ep, err := oauth.NewEndpoint(&codeType, values, zRedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := ep.Refresh(ctx, client, tok.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if fresh.RefreshToken.Equal(tok.RefreshToken) || fresh.AccessToken.Equal(tok.AccessToken) || fresh.RefreshToken.IsZero() {
		t.Error("refresh did not rotate the tokens")
	}
	if _, _, err := ep.Refresh(ctx, client, tok.RefreshToken); !errors.Is(err, oauth.ErrReconnect) {
		t.Errorf("refresh with the rotated-out refresh token = %v, want ErrReconnect", err)
	}
	if code := zitadelUserinfo(t, client, issuer, fresh); code != http.StatusOK {
		t.Errorf("userinfo with the refreshed access token = %d", code)
	}
	// Persist the refreshed set, as the refresher would.
	sealed, err := oauth.SealToken(kr, c.ID, fresh)
	if err != nil {
		t.Fatal(err)
	}
	c.Token = sealed
	if _, err := st.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}

	// DISCONNECT: revoke refresh then access token; both stop working.
	res, err := flow.Disconnect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Deleted || res.RevokeErr != nil || len(res.Revoked) != 2 || res.Revoked[0] != oauth.HintRefreshToken {
		t.Errorf("Disconnect = %+v", res)
	}
	if code := zitadelUserinfo(t, client, issuer, fresh); code == http.StatusOK {
		t.Error("the provider still accepts the revoked access token")
	}
	if _, _, err := ep.Refresh(ctx, client, fresh.RefreshToken); !errors.Is(err, oauth.ErrReconnect) {
		t.Errorf("refresh with the revoked refresh token = %v, want ErrReconnect", err)
	}
	if sched.holds(c.ID) {
		t.Error("scheduler still holds the disconnected connection")
	}

	// A second CONNECT after DISCONNECT works, on the same connection.
	again := connect()
	if c2, _ := st.GetConnection(ctx, ref); c2.ID != c.ID || again.AccessToken.Equal(fresh.AccessToken) {
		t.Errorf("second CONNECT: id %s (was %s)", c2.ID, c.ID)
	}
	if code := zitadelUserinfo(t, client, issuer, again); code != http.StatusOK {
		t.Errorf("userinfo after reconnecting = %d", code)
	}

	// Client credentials: obtained, stored, served from the store.
	if err := flow.ConnectClientCredentials(ctx, svc); err != nil {
		t.Fatalf("ConnectClientCredentials: %v", err)
	}
	cc, err := flow.ClientCredentialsToken(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := st.GetConnection(ctx, svc)
	stored, err := oauth.OpenToken(kr, sc.ID, sc.Token)
	if err != nil || !stored.AccessToken.Equal(cc.AccessToken) || cc.AccessToken.IsZero() || !cc.Expiry.After(time.Now()) {
		t.Errorf("client credentials token: %v", err)
	}
}
