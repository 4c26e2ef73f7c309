package connkit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const callbackPath = "/oauth/callback"

// world is a host with a fake authorization server and a fake API.
type world struct {
	st      store.Store
	sealer  store.Sealer
	browser *http.Client // a browser: cookies kept, redirects not followed
	host    *connkit.Host
	auth    *oauthtest.Server
	api     *httptest.Server
	app     *httptest.Server // mounts the callback handler
	apiHits map[string]int
}

func newWorld(t *testing.T) *world { t.Helper(); return newWorldWith(t, nil, nil) }

// newWorldWith is newWorld with changes to the authorization server's and
// the host's configuration.
func newWorldWith(t *testing.T, authCfg func(*oauthtest.Config), hostCfg func(*world, *connkit.Config)) *world {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	w := &world{apiHits: map[string]int{}, browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// The host app's callback URL must be known before the authorization
	// server registers it; reserve the listener first.
	w.app = httptest.NewUnstartedServer(nil)
	callbackURL := "http://" + w.app.Listener.Addr().String() + callbackPath
	ac := oauthtest.Config{
		Clients:             []oauthtest.Client{{ID: "app-1", Secret: "app-secret", RedirectURIs: []string{callbackURL}}},
		RotateRefreshTokens: true,
	}
	if authCfg != nil {
		authCfg(&ac)
	}
	w.auth = oauthtest.New(t, ac)
	w.api = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "key-123" {
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.apiHits["apikey"]++
		_, _ = io.WriteString(rw, `{"items":3}`)
	}))
	t.Cleanup(w.api.Close)

	key, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	w.st, w.sealer = memory.New(memory.Options{}), ring
	hc := connkit.Config{
		Store:                w.st,
		Sealer:               ring,
		CallbackURL:          callbackURL,
		AllowPrivateNetworks: true, // the fake servers are on loopback
	}
	if hostCfg != nil {
		hostCfg(w, &hc)
	}
	w.host, err = connkit.New(hc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.host.Close(context.Background()) })
	mux := http.NewServeMux()
	mux.Handle(callbackPath, w.host.CallbackHandler())
	mux.HandleFunc("POST /connect", func(rw http.ResponseWriter, r *http.Request) {
		ref := connection.Ref{InstanceID: r.FormValue("instance"), Variable: r.FormValue("variable")}
		if err := w.host.StartConnect(rw, r, ref); err != nil && !errors.Is(err, oauth.ErrBadStartRequest) {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		}
	})
	w.app.Config.Handler = mux
	w.app.Start()
	t.Cleanup(w.app.Close)
	return w
}

// connect plays the customer's browser through CONNECT: it posts to the
// host's connect route, follows the provider's consent and comes back to the
// callback with the binding cookie. It returns the callback's page.
func (w *world) connect(t *testing.T, ref connection.Ref) string {
	t.Helper()
	resp, err := w.browser.PostForm(w.app.URL+"/connect", url.Values{"instance": {ref.InstanceID}, "variable": {ref.Variable}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect: HTTP %d, want 303", resp.StatusCode)
	}
	back, err := w.auth.Authorize(t.Context(), resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = w.browser.Get(back.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: HTTP %d: %s", resp.StatusCode, page)
	}
	return string(page)
}

func acme(auth *oauthtest.Server, apiURL string) component.Component {
	return component.Component{
		Key:   "acme",
		Label: "Acme",
		Connections: []connection.Type{
			{
				Key:    "oauth",
				Label:  "Acme OAuth",
				OAuth2: &connection.OAuth2{AuthorizeURL: auth.AuthorizeURL(), TokenURL: auth.TokenURL(), RevokeURL: auth.RevokeURL(), Scopes: []string{"read"}},
			},
			{
				Key:    "apikey",
				Label:  "Acme API Key",
				Fields: []connection.Field{{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true}},
				Auth:   connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
			},
		},
		Actions: []component.Action{{
			// token exists only so tests can act on the access token at the
			// provider; real components never hand tokens out.
			Key:    "token",
			Inputs: []component.Input{{Key: "oauth", Connection: "oauth"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				conn, err := sc.Connection("oauth")
				if err != nil {
					return nil, err
				}
				tok, err := conn.Token(ctx)
				if err != nil {
					return nil, err
				}
				return tok.AccessToken.Reveal(), nil
			},
		}, {
			// reject reports that the API refused the key, quoting it the
			// way careless APIs and components do.
			Key:    "reject",
			Inputs: []component.Input{{Key: "key", Connection: "apikey"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				conn, err := sc.Connection("key")
				if err != nil {
					return nil, err
				}
				k, _ := conn.Field("apiKey")
				return nil, component.ConnectionError(conn, fmt.Errorf("API answered 200 {\"error\":\"key %s is invalid\",\"auth\":\"%s\"} %s",
					k, base64.StdEncoding.EncodeToString([]byte(k)), strings.Repeat("x", 1000)))
			},
		}, {
			Key:    "sync",
			Inputs: []component.Input{{Key: "oauth", Connection: "oauth"}, {Key: "key", Connection: "apikey"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				var out []string
				for _, in := range []struct{ conn, url string }{{"oauth", auth.ResourceURL()}, {"key", apiURL}} {
					conn, err := sc.Connection(in.conn)
					if err != nil {
						return nil, err
					}
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.url, nil)
					resp, err := conn.HTTPClient().Do(req)
					if err != nil {
						return nil, err
					}
					resp.Body.Close()
					out = append(out, fmt.Sprintf("%s:%d", in.conn, resp.StatusCode))
				}
				return strings.Join(out, " "), nil
			},
		}},
	}
}

// The refs of the acme integration's two connections in instance inst-1.
var (
	oauthRef = connection.Ref{InstanceID: "inst-1", Variable: "Acme OAuth Connection"}
	keyRef   = connection.Ref{InstanceID: "inst-1", Variable: "Acme API Key Connection"}
)

// deploy registers the acme component and an integration whose steps run
// the named actions (each step is named after its action), with the
// integration's own OAuth client as hidden defaults, and deploys instance
// inst-1 of it. It returns the component and the builder, for replicas.
func (w *world) deploy(t *testing.T, actions ...string) (component.Component, *component.Builder) {
	t.Helper()
	comp := acme(w.auth, w.api.URL)
	c, err := w.host.Register(comp)
	if err != nil {
		t.Fatal(err)
	}
	b := component.NewBuilder("int-1", "Acme Sync", 1)
	for _, a := range actions {
		if _, err := b.AddStep(a, c, a, component.StepOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The client credentials are the integration's, not the customer's.
	_ = b.Variable(oauthRef.Variable, func(v *connection.Variable) {
		v.Defaults = connection.ValuesOf(map[string]string{connection.FieldClientID: "app-1", connection.FieldClientSecret: "app-secret"})
		v.Visibility = map[string]connection.Visibility{
			connection.FieldClientID: connection.Hidden, connection.FieldClientSecret: connection.Hidden,
			connection.FieldAuthorizeURL: connection.Hidden, connection.FieldTokenURL: connection.Hidden,
			connection.FieldRevokeURL: connection.Hidden, connection.FieldScopes: connection.Hidden,
		}
	}) // absent when no step uses the OAuth connection
	if err := w.host.RegisterIntegration(b); err != nil {
		t.Fatal(err)
	}
	inst := connection.Instance{ID: "inst-1", Name: "Customer One", IntegrationID: "int-1", IntegrationName: "Acme Sync", IntegrationVersion: 1}
	if err := w.host.Deploy(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	return comp, b
}

func TestEndToEnd(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	w.deploy(t, "sync")
	if err := w.host.SetValues(ctx, keyRef, template.AudienceCustomer, connection.ValuesOf(map[string]string{"apiKey": "key-123"})); err != nil {
		t.Fatal(err)
	}

	// CONNECT without the customer's browser is refused.
	if _, err := w.host.Connect(ctx, oauthRef); !errors.Is(err, oauth.ErrUnboundConnect) {
		t.Fatalf("unbound Connect: %v, want ErrUnboundConnect", err)
	}
	// CONNECT: the browser goes to the provider and comes back.
	if page := w.connect(t, oauthRef); !strings.Contains(page, "Authorization completed successfully") {
		t.Fatalf("callback page: %s", page)
	}
	assertStatus(t, w.host, oauthRef, connection.StatusConfigured)

	// A step uses both connections; both turn green.
	out, err := w.host.RunStep(ctx, "inst-1", "sync", connkit.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out != "oauth:200 key:200" {
		t.Fatalf("step output %q, want both calls to succeed", out)
	}
	assertStatus(t, w.host, oauthRef, connection.StatusWorking)
	assertStatus(t, w.host, keyRef, connection.StatusWorking)

	logs, err := w.host.Logs(ctx, oauthRef, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 2 {
		t.Errorf("connection log has %d entries, want connected and used", len(logs))
	}
	b2, _ := json.Marshal(logs)
	if strings.Contains(string(b2), "app-secret") || strings.Contains(string(b2), "key-123") {
		t.Errorf("connection log leaks a secret: %s", b2)
	}

	// DISCONNECT: tokens revoked; the step fails with "not connected".
	res, err := w.host.Disconnect(ctx, oauthRef)
	if err != nil {
		t.Fatal(err)
	}
	if res == nil {
		t.Fatal("no disconnect result")
	}
	_, err = w.host.RunStep(ctx, "inst-1", "sync", connkit.RunOptions{})
	if !errors.Is(err, component.ErrNotConnected) {
		t.Fatalf("step after disconnect: err = %v, want ErrNotConnected", err)
	}
	if n := strings.Count(err.Error(), "not connected"); n != 1 {
		t.Errorf("error %q should say once that the connection is not connected (says it %d times)", err, n)
	}
}

func assertStatus(t *testing.T, h *connkit.Host, ref connection.Ref, want connection.Status) {
	t.Helper()
	got, err := h.Health(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != want {
		t.Fatalf("%s status = %q (%s), want %q", ref, got.Status, got.Reason, want)
	}
}

func TestStatusTransitions(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	w.deploy(t, "sync", "token")
	connect := func() {
		t.Helper()
		w.connect(t, oauthRef)
	}
	setKey := func(k string) {
		t.Helper()
		if err := w.host.SetValues(ctx, keyRef, template.AudienceCustomer, connection.ValuesOf(map[string]string{"apiKey": k})); err != nil {
			t.Fatal(err)
		}
	}

	setKey("key-123")
	connect()
	assertStatus(t, w.host, oauthRef, connection.StatusConfigured)
	assertStatus(t, w.host, keyRef, connection.StatusConfigured)

	if _, err := w.host.RunStep(ctx, "inst-1", "sync", connkit.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	assertStatus(t, w.host, oauthRef, connection.StatusWorking)
	assertStatus(t, w.host, keyRef, connection.StatusWorking)

	// The customer's key is revoked at the API: a 401 turns it red.
	setKey("key-revoked")
	if _, err := w.host.RunStep(ctx, "inst-1", "sync", connkit.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	assertStatus(t, w.host, keyRef, connection.StatusError)
	// The user revokes access at the provider: the API answers 401, the
	// client refreshes once, the provider refuses the grant, and the OAuth
	// connection turns red.
	tok, err := w.host.RunStep(ctx, "inst-1", "token", connkit.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !w.auth.Revoke(tok.(string)) {
		t.Fatal("the fake server does not know the access token the step used")
	}
	w.auth.FailToken(-1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_grant", Description: "grant revoked"})
	refreshes := w.auth.GrantCalls(oauthtest.GrantRefreshToken)
	if _, err := w.host.RunStep(ctx, "inst-1", "sync", connkit.RunOptions{}); err == nil {
		t.Fatal("step succeeded with a revoked grant")
	}
	if n := w.auth.GrantCalls(oauthtest.GrantRefreshToken) - refreshes; n != 1 {
		t.Errorf("refresh calls after the 401 = %d, want 1", n)
	}
	assertStatus(t, w.host, oauthRef, connection.StatusError)
	// Reconnecting resets to yellow.
	w.auth.ClearFaults()
	setKey("key-123")
	connect()
	assertStatus(t, w.host, oauthRef, connection.StatusConfigured)
	assertStatus(t, w.host, keyRef, connection.StatusConfigured)
}

func TestStepConnectionErrorIsRedactedAndBounded(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	w.deploy(t, "reject")
	const secret = "SENTINEL-key-987"
	if err := w.host.SetValues(ctx, keyRef, template.AudienceCustomer, connection.ValuesOf(map[string]string{"apiKey": secret})); err != nil {
		t.Fatal(err)
	}
	if _, err := w.host.RunStep(ctx, "inst-1", "reject", connkit.RunOptions{}); err == nil {
		t.Fatal("step error not returned")
	}
	h, err := w.host.Health(ctx, keyRef)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != connection.StatusError || !strings.Contains(h.Reason, "is invalid") {
		t.Fatalf("health = %+v, want error with the step's reason", h)
	}
	if b64 := base64.StdEncoding.EncodeToString([]byte(secret)); strings.Contains(h.Reason, b64) {
		t.Errorf("status reason leaks the key base64-encoded: %q", h.Reason)
	}
	if strings.Contains(h.Reason, secret) || len(h.Reason) > 300 {
		t.Errorf("status reason leaks the key or is unbounded (%d bytes): %q", len(h.Reason), h.Reason)
	}
	logs, err := w.host.Logs(ctx, keyRef, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(logs)
	if strings.Contains(string(all), secret) {
		t.Errorf("connection log leaks the key: %s", all)
	}
}

func TestNewAndRegisterErrors(t *testing.T) {
	key, _ := keyring.GenerateKey(1)
	ring, _ := keyring.New(key)
	for _, cfg := range []connkit.Config{
		{Sealer: ring, CallbackURL: "https://example.com/cb"},
		{Store: memory.New(memory.Options{}), CallbackURL: "https://example.com/cb"},
		{Store: memory.New(memory.Options{}), Sealer: ring, CallbackURL: "/relative"},
		// A problem found by a part New wires (the OAuth flow's metadata).
		{Store: memory.New(memory.Options{}), Sealer: ring, CallbackURL: "https://example.com/cb",
			Metadata: map[string]*oauth.Metadata{"https://a.example": {Issuer: "https://b.example"}}},
	} {
		if _, err := connkit.New(cfg); !errors.Is(err, connkit.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg.CallbackURL, err)
		}
	}
	h, err := connkit.New(connkit.Config{Store: memory.New(memory.Options{}), Sealer: ring, CallbackURL: connkit.CallbackURL("example.com")})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	c := component.Component{Key: "x", Actions: []component.Action{{Key: "a", Perform: func(context.Context, *component.Context) (any, error) { return nil, nil }}}}
	if _, err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Register(c); !errors.Is(err, connkit.ErrDuplicate) {
		t.Errorf("second Register = %v, want ErrDuplicate", err)
	}
	if got := connkit.CallbackURL(".example.com."); got != "https://oauth2.example.com/callback" {
		t.Errorf("CallbackURL = %q", got)
	}
}

// replica is a second host process sharing the world's store and keys.
func (w *world) replica(t *testing.T, c component.Component, b *component.Builder) *connkit.Host {
	t.Helper()
	h, err := connkit.New(connkit.Config{Store: w.st, Sealer: w.sealer, CallbackURL: "http://" + w.app.Listener.Addr().String() + callbackPath,
		AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	if _, err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	if err := h.RegisterIntegration(b); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDisconnectSeenByOtherReplica: after DISCONNECT through one replica,
// a step on another replica that had the access token cached fails at once
// with "not connected" instead of using the cached token.
func TestDisconnectSeenByOtherReplica(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	comp, b := w.deploy(t, "token")
	other := w.replica(t, comp, b)
	ref := oauthRef
	w.connect(t, ref)
	if _, err := other.RunStep(ctx, "inst-1", "token", connkit.RunOptions{}); err != nil {
		t.Fatalf("step on the other replica before DISCONNECT: %v", err)
	}
	if _, err := w.host.Disconnect(ctx, ref); err != nil {
		t.Fatal(err)
	}
	_, err := other.RunStep(ctx, "inst-1", "token", connkit.RunOptions{})
	if !errors.Is(err, component.ErrNotConnected) {
		t.Fatalf("step on the other replica after DISCONNECT: %v, want ErrNotConnected", err)
	}
}

// TestIssuerChecked: with Config.Issuer the host's callback checks the iss
// parameter (RFC 9207) against the connection's authorization server, so an
// authorization response from another server (a mix-up) is refused.
func TestIssuerChecked(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sentIss   string // "" means the server's own URL
		wantOK    bool
		wantError string
	}{
		{name: "matching iss", wantOK: true},
		{name: "mix-up: another server's iss", sentIss: "https://evil.example", wantError: "iss"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, func(c *oauthtest.Config) {
				c.IssParameter = true
				c.Issuer = tc.sentIss
			}, func(w *world, c *connkit.Config) {
				issuer := w.auth.URL()
				c.Issuer = func(*template.Resolution) string { return issuer }
				c.Metadata = map[string]*oauth.Metadata{issuer: {
					Issuer:                        issuer,
					AuthorizationEndpoint:         w.auth.AuthorizeURL(),
					TokenEndpoint:                 w.auth.TokenURL(),
					CodeChallengeMethodsSupported: []string{"S256"},
					AuthorizationResponseIssParameterSupported: true,
				}}
			})
			w.deploy(t, "token")
			resp, err := w.browser.PostForm(w.app.URL+"/connect", url.Values{"instance": {oauthRef.InstanceID}, "variable": {oauthRef.Variable}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			back, err := w.auth.Authorize(t.Context(), resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			calls := w.auth.Calls(oauthtest.PathToken)
			resp, err = w.browser.Get(back.String())
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h, _ := w.host.Health(t.Context(), oauthRef)
			if tc.wantOK {
				if resp.StatusCode != http.StatusOK || h.Status != connection.StatusConfigured {
					t.Fatalf("callback %d, health %+v: %s", resp.StatusCode, h, page)
				}
				return
			}
			if resp.StatusCode == http.StatusOK && h.Status == connection.StatusConfigured {
				t.Fatalf("a response with a foreign iss was accepted")
			}
			if n := w.auth.Calls(oauthtest.PathToken) - calls; n != 0 {
				t.Errorf("%d token requests after a foreign iss, want 0", n)
			}
			if !strings.Contains(string(page), tc.wantError) {
				t.Errorf("failure page does not mention %q:\n%s", tc.wantError, page)
			}
		})
	}
}
