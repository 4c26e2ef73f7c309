package oauth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// Names of the flow flowFx.
const (
	fxClientID     = "client-1"
	fxClientSecret = "s3cret/+&=" // needs form-encoding in Basic auth
	fxRedirectURL  = "https://app.example/oauth/callback"
	fxInstanceID   = "inst-1"
	fxInstanceName = "Customer One"
	fxIntegration  = "int-1"
	fxIntegName    = "Sync to Acme"
	fxVariable     = "Acme Connection"
)

// flowFx is one OAuth 2.0 connection wired end to end: a fake provider
// (in memory), a memory store, a keyring, a template.Manager holding the
// integration and instance, a recording Scheduler and the Flow.
type flowFx struct {
	t     testing.TB
	srv   *oauthtest.Server
	store *memory.Store
	seal  *keyring.Keyring
	mgr   *template.Manager
	sched *flowSched
	flow  *oauth.Flow
	ref   connection.Ref
	typ   connection.Type
}

// flowFxOptions change the flowFx before it is built.
type flowFxOptions struct {
	server   oauthtest.Config
	style    oauthtest.AuthStyle
	oauth2   func(o *connection.OAuth2)
	variable func(v *connection.Variable)
	flow     func(c *oauth.FlowConfig)
	fields   []connection.Field
	user     string // makes the variable user-level
	noValues bool   // do not set the client id and secret
	public   bool   // a public client: no secret
}

// newFlowFx builds a flowFx. Inside a synctest bubble everything runs on
// the bubble's clock.
func newFlowFx(t testing.TB, opts flowFxOptions) *flowFx {
	t.Helper()
	cfg := opts.server
	secret := fxClientSecret
	if opts.public {
		secret = ""
	}
	cfg.Clients = append(cfg.Clients, oauthtest.Client{
		ID: fxClientID, Secret: secret, RedirectURIs: []string{fxRedirectURL}, AuthStyle: opts.style,
	})
	srv := oauthtest.NewUnstarted(t, cfg)
	fx := &flowFx{t: t, srv: srv, store: memory.New(memory.Options{}), sched: &flowSched{}}
	k, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	if fx.seal, err = keyring.New(k); err != nil {
		t.Fatal(err)
	}
	o := &connection.OAuth2{
		AuthorizeURL:        srv.AuthorizeURL(),
		TokenURL:            srv.TokenURL(),
		RevokeURL:           srv.RevokeURL(),
		Scopes:              []string{"read", "write"},
		TokenResponseFields: []string{"instance_url"},
		CallbackParams:      []string{"realmId"},
	}
	if opts.style == oauthtest.AuthStyleBody {
		o.ClientAuth = connection.ClientAuthBody
	}
	if opts.oauth2 != nil {
		opts.oauth2(o)
	}
	typ, err := connection.Declare(connection.Type{Key: "acme", Label: "Acme", OAuth2: o, Fields: opts.fields})
	if err != nil {
		t.Fatal(err)
	}
	fx.typ = typ
	v := connection.Variable{Key: fxVariable, Type: typ}
	if opts.user != "" {
		v.Level = connection.UserLevel
	}
	if opts.variable != nil {
		opts.variable(&v)
	}
	fx.mgr = template.New(fx.store, fx.seal, template.Options{})
	ctx := context.Background()
	if err := fx.mgr.Register(template.Integration{ID: fxIntegration, Name: fxIntegName, Version: 1, Variables: []connection.Variable{v}}); err != nil {
		t.Fatal(err)
	}
	if err := fx.mgr.Deploy(ctx, connection.Instance{ID: fxInstanceID, Name: fxInstanceName, IntegrationID: fxIntegration,
		IntegrationName: fxIntegName, IntegrationVersion: 1}); err != nil {
		t.Fatal(err)
	}
	fx.ref = connection.Ref{InstanceID: fxInstanceID, Variable: fxVariable, User: opts.user}
	switch {
	case opts.public:
		fx.setValues(fx.ref, map[string]string{connection.FieldClientID: fxClientID})
	case !opts.noValues:
		fx.setValues(fx.ref, map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret})
	}
	fc := oauth.FlowConfig{
		Store:       fx.store,
		Sealer:      fx.seal,
		Resolver:    fx.mgr,
		RedirectURL: fxRedirectURL,
		HTTPClient:  oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()}),
		Scheduler:   fx.sched,
		// The fixture plays the browser with Start (fx.start); browser
		// binding, the default, is tested with StartRedirect.
		AllowUnboundConnect: true,
	}
	if opts.flow != nil {
		opts.flow(&fc)
	}
	if fx.flow, err = oauth.NewFlow(fc); err != nil {
		t.Fatal(err)
	}
	return fx
}

// embedEndpoints lists the endpoint fields (Hidden unless listed) as
// Embedded, so that the host (the test) can set them.
func embedEndpoints(v *connection.Variable) {
	if v.Visibility == nil {
		v.Visibility = map[string]connection.Visibility{}
	}
	for _, k := range []string{connection.FieldAuthorizeURL, connection.FieldTokenURL, connection.FieldRevokeURL} {
		v.Visibility[k] = connection.Embedded
	}
}

func (fx *flowFx) setValues(ref connection.Ref, m map[string]string) {
	fx.t.Helper()
	if err := fx.mgr.SetValues(context.Background(), ref, template.AudienceHost, connection.ValuesOf(m)); err != nil {
		fx.t.Fatal(err)
	}
}

// start begins a CONNECT and plays the browser at the provider, returning
// the callback URL the provider redirects to.
func (fx *flowFx) start(ref connection.Ref) *url.URL {
	fx.t.Helper()
	authURL, err := fx.flow.Start(context.Background(), ref)
	if err != nil {
		fx.t.Fatalf("Start: %v", err)
	}
	loc, err := fx.srv.Authorize(context.Background(), authURL)
	if err != nil {
		fx.t.Fatalf("Authorize: %v", err)
	}
	return loc
}

// callback delivers a callback URL to the flow's handler.
func (fx *flowFx) callback(u string) *http.Response {
	fx.t.Helper()
	rec := httptest.NewRecorder()
	fx.flow.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
	return rec.Result()
}

// connect runs a whole CONNECT of ref and fails the test unless it ends with
// the success page.
func (fx *flowFx) connect(ref connection.Ref) {
	fx.t.Helper()
	resp := fx.callback(fx.start(ref).String())
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		fx.t.Fatalf("callback answered %d: %s", resp.StatusCode, flowBody(fx.t, resp))
	}
}

func (fx *flowFx) conn(ref connection.Ref) *store.Connection {
	fx.t.Helper()
	c, err := fx.store.GetConnection(context.Background(), ref)
	if err != nil {
		fx.t.Fatalf("GetConnection(%s): %v", ref, err)
	}
	return c
}

func (fx *flowFx) token(ref connection.Ref) oauth.Token {
	fx.t.Helper()
	c := fx.conn(ref)
	tok, err := oauth.OpenToken(fx.seal, c.ID, c.Token)
	if err != nil {
		fx.t.Fatalf("OpenToken: %v", err)
	}
	return tok
}

// logs returns the connection's log, oldest first.
func (fx *flowFx) logs(connID string) []store.LogEntry {
	fx.t.Helper()
	es, err := fx.store.ListLogs(context.Background(), connID, 0, 1000)
	if err != nil {
		fx.t.Fatal(err)
	}
	slices.Reverse(es)
	return es
}

func (fx *flowFx) events(connID string) []string {
	var out []string
	for _, e := range fx.logs(connID) {
		out = append(out, e.Event)
	}
	return out
}

// lastEvent returns the newest log entry with the event, failing without.
func (fx *flowFx) lastEvent(connID, event string) store.LogEntry {
	fx.t.Helper()
	es := fx.logs(connID)
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Event == event {
			return es[i]
		}
	}
	fx.t.Fatalf("no %q entry in the log of %s: %v", event, connID, fx.events(connID))
	return store.LogEntry{}
}

func (fx *flowFx) tokenCalls() int { return fx.srv.Calls(oauthtest.PathToken) }

func flowBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// flowSched is a fake oauth.Scheduler that records its calls.
type flowSched struct {
	mu    sync.Mutex
	calls []flowSchedCall
	held  map[string]time.Time
}

type flowSchedCall struct {
	Op     string // "schedule" or "unschedule"
	ID     string
	Ref    connection.Ref
	Expiry time.Time
}

func (s *flowSched) Schedule(id string, ref connection.Ref, expiry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, flowSchedCall{Op: "schedule", ID: id, Ref: ref, Expiry: expiry})
	if s.held == nil {
		s.held = make(map[string]time.Time)
	}
	s.held[id] = expiry
}

func (s *flowSched) Unschedule(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, flowSchedCall{Op: "unschedule", ID: id})
	delete(s.held, id)
}

func (s *flowSched) holds(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.held[id]
	return ok
}

func (s *flowSched) ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		out = append(out, c.Op)
	}
	return out
}

func TestNewFlowRequiresConfig(t *testing.T) {
	fx := newFlowFx(t, flowFxOptions{})
	good := oauth.FlowConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr, RedirectURL: fxRedirectURL}
	if _, err := oauth.NewFlow(good); err != nil {
		t.Fatalf("NewFlow(good) = %v", err)
	}
	for name, mutate := range map[string]func(*oauth.FlowConfig){
		"no store":          func(c *oauth.FlowConfig) { c.Store = nil },
		"no sealer":         func(c *oauth.FlowConfig) { c.Sealer = nil },
		"no resolver":       func(c *oauth.FlowConfig) { c.Resolver = nil },
		"no redirect":       func(c *oauth.FlowConfig) { c.RedirectURL = "" },
		"relative redirect": func(c *oauth.FlowConfig) { c.RedirectURL = "/oauth/callback" },
		"http redirect":     func(c *oauth.FlowConfig) { c.RedirectURL = "http://app.example/cb" },
		"fragment":          func(c *oauth.FlowConfig) { c.RedirectURL = "https://app.example/cb#x" },
		"userinfo":          func(c *oauth.FlowConfig) { c.RedirectURL = "https://u:p@app.example/cb" },
		"nil metadata":      func(c *oauth.FlowConfig) { c.Metadata = map[string]*oauth.Metadata{"https://a.example": nil} },
		"metadata mismatch": func(c *oauth.FlowConfig) {
			c.Metadata = map[string]*oauth.Metadata{"https://a.example": {Issuer: "https://b.example", TokenEndpoint: "https://a.example/t"}}
		},
	} {
		c := good
		mutate(&c)
		if _, err := oauth.NewFlow(c); !errors.Is(err, oauth.ErrConfig) {
			t.Errorf("%s: NewFlow = %v, want an error matching ErrConfig", name, err)
		}
	}
	// Loopback callbacks may use http (RFC 8252).
	c := good
	c.RedirectURL = "http://127.0.0.1:8080/cb"
	if _, err := oauth.NewFlow(c); err != nil {
		t.Errorf("loopback http redirect: %v", err)
	}
}

// TestConnectEndToEnd runs CONNECT against the fake provider: the token set
// is stored sealed, extra token-response fields and callback parameters land
// in the metadata, the status is configured, the log has the story, the
// scheduler holds the connection and the browser sees the success page.
func TestConnectEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{server: oauthtest.Config{
			ExtraTokenFields:    map[string]any{"instance_url": "https://na1.acme.example", "ignored": "x"},
			ExtraCallbackParams: map[string]string{"realmId": "4620816365", "other": "y"},
		}})
		loc := fx.start(fx.ref)
		if calls := fx.tokenCalls(); calls != 0 {
			t.Fatalf("token calls before the callback = %d", calls)
		}
		resp := fx.callback(loc.String())
		body := flowBody(t, resp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Authorization completed successfully") {
			t.Fatalf("callback = %d %q", resp.StatusCode, body)
		}
		if got := fx.srv.GrantCalls(oauthtest.GrantAuthorizationCode); got != 1 {
			t.Errorf("code exchanges = %d, want 1", got)
		}
		c := fx.conn(fx.ref)
		if c.Token == nil || !c.Token.Refreshable {
			t.Fatalf("stored token = %+v", c.Token)
		}
		tok := fx.token(fx.ref)
		if !fx.srv.Active(tok.AccessToken.Reveal()) {
			t.Error("stored access token is not one the provider issued")
		}
		if info, ok := fx.srv.Lookup(tok.RefreshToken.Reveal()); !ok || info.Type != "refresh_token" {
			t.Errorf("stored refresh token unknown to the provider: %+v", info)
		}
		if want := time.Now().Add(time.Hour); !tok.Expiry.Equal(want) {
			t.Errorf("expiry = %v, want %v", tok.Expiry, want)
		}
		if diff := cmp.Diff(map[string]string{"instance_url": "https://na1.acme.example", "realmId": "4620816365"}, c.Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
		if c.Health.Status != connection.StatusConfigured {
			t.Errorf("health = %+v, want configured", c.Health)
		}
		if diff := cmp.Diff([]string{template.EventValuesSet, oauth.EventConnectStarted, oauth.EventConnected}, fx.events(c.ID)); diff != "" {
			t.Errorf("log events (-want +got):\n%s", diff)
		}
		if e := fx.lastEvent(c.ID, oauth.EventConnected); e.Attrs["refreshable"] != "true" || e.Attrs["scopes"] != "read write" {
			t.Errorf("connected entry attrs = %v", e.Attrs)
		}
		want := []flowSchedCall{{Op: "schedule", ID: c.ID, Ref: fx.ref, Expiry: tok.Expiry}}
		if diff := cmp.Diff(want, fx.sched.calls); diff != "" {
			t.Errorf("scheduler calls (-want +got):\n%s", diff)
		}
		// One token request, authenticated with HTTP Basic only (the type's
		// default style, no second attempt), with the PKCE verifier and the
		// same redirect URI.
		reqs := fx.srv.TokenRequests()
		if len(reqs) != 1 || !reqs[0].HasBasic || reqs[0].BasicPassword != url.QueryEscape(fxClientSecret) || reqs[0].Form.Has("client_secret") {
			t.Errorf("token requests: %d, basic %v, secret in form %v", len(reqs), reqs[0].HasBasic, reqs[0].Form.Has("client_secret"))
		}
		form := reqs[0].Form
		if form.Get("code_verifier") == "" || form.Get("redirect_uri") != fxRedirectURL {
			t.Errorf("token request lacks verifier or redirect_uri: verifier set=%v redirect_uri=%q",
				form.Get("code_verifier") != "", form.Get("redirect_uri"))
		}
	})
}

// TestConnectSecretsNeverLogged checks that no secret reaches the store's
// logs, the host's logger or the stored record in plaintext.
func TestConnectSecretsNeverLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logged flowLogBuffer
		fx := newFlowFx(t, flowFxOptions{flow: func(c *oauth.FlowConfig) { c.Logger = flowTextLogger(&logged) }})
		fx.connect(fx.ref)
		tok := fx.token(fx.ref)
		c := fx.conn(fx.ref)
		var all strings.Builder
		all.WriteString(logged.String())
		for _, e := range fx.logs(c.ID) {
			all.WriteString(e.Message)
			for k, v := range e.Attrs {
				all.WriteString(k + "=" + v)
			}
		}
		all.Write(c.Token.Sealed)
		for _, secret := range []string{tok.AccessToken.Reveal(), tok.RefreshToken.Reveal(), fxClientSecret} {
			if strings.Contains(all.String(), secret) {
				t.Errorf("a secret appears in logs or the sealed record")
			}
		}
	})
}

// TestUserLevelConnections keeps one connection (and one id) per user.
func TestUserLevelConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{user: "alice"})
		bob := connection.Ref{InstanceID: fxInstanceID, Variable: fxVariable, User: "bob"}
		fx.setValues(bob, map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret})
		fx.connect(fx.ref)
		fx.connect(bob)
		a, b := fx.conn(fx.ref), fx.conn(bob)
		if a.ID == b.ID || a.Token == nil || b.Token == nil {
			t.Fatalf("alice %s token %v, bob %s token %v", a.ID, a.Token != nil, b.ID, b.Token != nil)
		}
		if fx.token(fx.ref).AccessToken.Equal(fx.token(bob).AccessToken) {
			t.Error("two users share an access token")
		}
		// A user-level variable needs a user.
		if _, err := fx.flow.Start(context.Background(), connection.Ref{InstanceID: fxInstanceID, Variable: fxVariable}); !errors.Is(err, connection.ErrBadRef) {
			t.Errorf("Start without user = %v, want ErrBadRef", err)
		}
	})
}

// flowLogBuffer is a goroutine-safe log destination.
type flowLogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *flowLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *flowLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func flowTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
