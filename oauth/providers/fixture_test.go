package providers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/oauth/providers"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// TestMain checks that no test leaves a goroutine behind (token sources
// refresh in the background).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	fxClientID     = "client-1"
	fxClientSecret = "s3cret/+&="
	fxRedirectURL  = "https://app.example/oauth/callback"
	fxInstance     = "inst-1"
	fxIntegration  = "int-1"
	fxVariable     = "Provider Connection"
	fxTenant       = "acme"
)

// provider returns a built-in provider or fails the test.
func provider(t testing.TB, key string) providers.Provider {
	t.Helper()
	p, ok := providers.Lookup(key)
	if !ok {
		t.Fatalf("no provider %q in the catalog", key)
	}
	return p
}

// clientStyle is the client authentication the fake server demands of a
// provider's client: exactly the style the provider declares, so a client
// that sends the other style fails.
func clientStyle(p providers.Provider) oauthtest.AuthStyle {
	if p.Type.OAuth2.ClientAuthOrDefault() == connection.ClientAuthBody {
		return oauthtest.AuthStyleBody
	}
	return oauthtest.AuthStyleHeader
}

// tenantValues gives every tenant field of p a valid value.
func tenantValues(p providers.Provider) map[string]string {
	m := map[string]string{}
	for _, k := range p.TenantFields() {
		f, _ := p.Type.Field(k)
		switch {
		case f.Default != "":
			m[k] = f.Default
		case len(f.Choices) > 0:
			m[k] = f.Choices[0]
		default:
			m[k] = fxTenant
		}
	}
	return m
}

// resolved returns m over the type's defaults, as resolution gives them.
func resolved(typ *connection.Type, m map[string]string) connection.Values {
	var v connection.Values
	for _, f := range typ.Fields {
		if f.Default != "" {
			v.Set(f.Key, f.Default)
		}
	}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// fakeValues are a connection's values that send p's OAuth traffic to srv
// instead of the provider: the standard URL fields are overridden.
func fakeValues(p providers.Provider, srv *oauthtest.Server) map[string]string {
	m := tenantValues(p)
	m[connection.FieldClientID] = fxClientID
	m[connection.FieldClientSecret] = fxClientSecret
	if p.Type.HasField(connection.FieldAuthorizeURL) {
		m[connection.FieldAuthorizeURL] = srv.AuthorizeURL()
	}
	m[connection.FieldTokenURL] = srv.TokenURL()
	if p.Type.HasField(connection.FieldRevokeURL) {
		m[connection.FieldRevokeURL] = srv.RevokeURL()
	}
	return m
}

// router is a transport that serves requests for the provider's own hosts
// with the fake server, mapping the provider's endpoint paths to the fake
// server's, and records every host it was asked for.
type router struct {
	srv   *oauthtest.Server
	base  http.RoundTripper
	paths map[string]string // provider URL (host + path) -> fake path

	mu    sync.Mutex
	hosts []string
}

func newRouter(srv *oauthtest.Server) *router {
	return &router{srv: srv, base: srv.Transport(), paths: map[string]string{}}
}

// route sends requests for the (expanded) provider URL u to the fake
// server's path.
func (r *router) route(u, fakePath string) {
	pu, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	r.paths[pu.Host+pu.Path] = fakePath
}

func (r *router) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	if p, ok := r.paths[req.URL.Host+req.URL.Path]; ok {
		fake, _ := url.Parse(r.srv.URL())
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.URL.Path, req.Host = fake.Scheme, fake.Host, p, ""
	}
	return r.base.RoundTrip(req)
}

func (r *router) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hosts)
}

// fx is one provider's connection wired end to end: the fake server
// configured to behave like the provider, a memory store, a keyring, a
// template.Manager holding an integration whose variable binds the
// provider's type, the CONNECT flow and the token sources.
type fx struct {
	t      testing.TB
	p      providers.Provider
	srv    *oauthtest.Server
	router *router
	store  *memory.Store
	ring   *keyring.Keyring
	mgr    *template.Manager
	flow   *oauth.Flow
	tokens *oauth.Tokens
	ref    connection.Ref
}

type fxOptions struct {
	// server is the fake server's behaviour; its client is added.
	server oauthtest.Config
	// values replace or add connection values.
	values map[string]string
	// realURLs keeps the provider's own (expanded) URLs: requests for them
	// are routed to the fake server instead of overriding the URL fields.
	realURLs bool
	// provider, if set, changes the catalog's entry first (through
	// Catalog.Set, as a host would).
	provider func(p *providers.Provider)
}

func newFx(t testing.TB, key string, opts fxOptions) *fx {
	t.Helper()
	p := provider(t, key)
	if opts.provider != nil {
		c := providers.Default()
		opts.provider(&p)
		if err := c.Set(p); err != nil {
			t.Fatalf("Set: %v", err)
		}
		p, _ = c.Lookup(key)
	}
	cfg := opts.server
	cfg.Clients = append(cfg.Clients, oauthtest.Client{
		ID: fxClientID, Secret: fxClientSecret, RedirectURIs: []string{fxRedirectURL}, AuthStyle: clientStyle(p),
	})
	srv := oauthtest.NewUnstarted(t, cfg)
	f := &fx{t: t, p: p, srv: srv, router: newRouter(srv), store: memory.New(memory.Options{}),
		ref: connection.Ref{InstanceID: fxInstance, Variable: fxVariable}}
	k, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	if f.ring, err = keyring.New(k); err != nil {
		t.Fatal(err)
	}
	values := fakeValues(p, srv)
	if opts.realURLs {
		values = tenantValues(p)
		values[connection.FieldClientID] = fxClientID
		values[connection.FieldClientSecret] = fxClientSecret
	}
	for k, v := range opts.values {
		values[k] = v
	}
	if opts.realURLs {
		ep, err := oauth.NewEndpoint(&p.Type, resolved(&p.Type, values), fxRedirectURL)
		if err == nil {
			f.router.route(ep.AuthorizeURL(), oauthtest.PathAuthorize)
			f.router.route(ep.TokenURL(), oauthtest.PathToken)
			if ep.RevokeURL() != "" {
				f.router.route(ep.RevokeURL(), oauthtest.PathRevoke)
			}
		}
	}
	f.mgr = template.New(f.store, f.ring, template.Options{})
	ctx := context.Background()
	// The endpoint fields are Hidden unless listed: the host (this
	// fixture) overrides them to reach the fake server, so they are
	// Embedded.
	v := connection.Variable{Key: fxVariable, Type: p.Type, Visibility: map[string]connection.Visibility{
		connection.FieldAuthorizeURL: connection.Embedded, connection.FieldTokenURL: connection.Embedded,
		connection.FieldRevokeURL: connection.Embedded}}
	for k := range v.Visibility {
		if !p.Type.HasField(k) {
			delete(v.Visibility, k)
		}
	}
	if err := f.mgr.Register(template.Integration{ID: fxIntegration, Name: "Sync", Version: 1, Variables: []connection.Variable{v}}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := f.mgr.Deploy(ctx, connection.Instance{ID: fxInstance, Name: "Customer", IntegrationID: fxIntegration,
		IntegrationName: "Sync", IntegrationVersion: 1}); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if err := f.mgr.SetValues(ctx, f.ref, template.AudienceHost, connection.ValuesOf(values)); err != nil {
		t.Fatalf("SetValues: %v", err)
	}
	client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: f.router, Retries: -1})
	if f.flow, err = oauth.NewFlow(oauth.FlowConfig{
		Store: f.store, Sealer: f.ring, Resolver: f.mgr, RedirectURL: fxRedirectURL, HTTPClient: client,
		AllowUnboundConnect: true, // the fixture plays the browser with Start
	}); err != nil {
		t.Fatal(err)
	}
	if f.tokens, err = oauth.NewTokens(oauth.TokensConfig{
		Store: f.store, Sealer: f.ring, Resolver: f.mgr, HTTPClient: client,
		Jitter: func(time.Duration) time.Duration { return 0 },
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// close stops the token sources; call it before a synctest bubble ends.
func (f *fx) close() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.tokens.Close(ctx); err != nil {
		f.t.Errorf("Tokens.Close: %v", err)
	}
}

// fakeAuthorizeURL turns an authorize URL for the provider's own host into
// one for the fake server, keeping the query.
func (f *fx) fakeAuthorizeURL(authURL string) string {
	u, err := url.Parse(authURL)
	if err != nil {
		f.t.Fatal(err)
	}
	if p, ok := f.router.paths[u.Host+u.Path]; ok {
		return f.srv.URL() + p + "?" + u.RawQuery
	}
	return authURL
}

// start begins a CONNECT and returns the authorize URL the browser is sent
// to.
func (f *fx) start() string {
	f.t.Helper()
	authURL, err := f.flow.Start(context.Background(), f.ref)
	if err != nil {
		f.t.Fatalf("Start: %v", err)
	}
	return authURL
}

// connect runs a whole CONNECT: Start, the browser at the (fake)
// provider, the callback. It fails the test unless the callback succeeds.
func (f *fx) connect() {
	f.t.Helper()
	loc, err := f.srv.Authorize(context.Background(), f.fakeAuthorizeURL(f.start()))
	if err != nil {
		f.t.Fatalf("Authorize: %v", err)
	}
	f.callback(loc)
}

// callback delivers the provider's redirect to the flow's handler and fails
// the test unless it shows the success page.
func (f *fx) callback(loc *url.URL) {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.flow.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, loc.String(), nil))
	if rec.Code != http.StatusOK {
		f.t.Fatalf("callback answered %d: %s", rec.Code, rec.Body.String())
	}
}

func (f *fx) conn() *store.Connection {
	f.t.Helper()
	c, err := f.store.GetConnection(context.Background(), f.ref)
	if err != nil {
		f.t.Fatalf("GetConnection: %v", err)
	}
	return c
}

// stored opens the connection's stored token set.
func (f *fx) stored() oauth.Token {
	f.t.Helper()
	c := f.conn()
	tok, err := oauth.OpenToken(f.ring, c.ID, c.Token)
	if err != nil {
		f.t.Fatalf("OpenToken: %v", err)
	}
	return tok
}

// token asks the connection's token source for a token, as a step does.
func (f *fx) token() *oauth.Token {
	f.t.Helper()
	tok, err := f.tokens.Source(f.ref).Token(context.Background())
	if err != nil {
		f.t.Fatalf("Token: %v", err)
	}
	return tok
}

// requireValidationError checks that err is (or wraps) a
// *connection.ValidationError with a problem on key, and that its message
// does not contain value.
func requireValidationError(t testing.TB, err error, key, value string) {
	t.Helper()
	var ve *connection.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) wraps no *connection.ValidationError", err, err)
	}
	if len(ve.Field(key)) == 0 {
		t.Errorf("error %q names no problem on %q", err, key)
	}
	if len(value) > 2 && strings.Contains(err.Error(), value) {
		t.Errorf("error %q contains the value %q", err, value)
	}
}

func describe(p providers.Provider) string { return fmt.Sprintf("%s (%s)", p.Key, p.Name) }
