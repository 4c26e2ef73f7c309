package oauth_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/store/sqlstore"
	"github.com/connkit/connkit/template"
)

// Fixture names of the token source tests.
const (
	tkClientID     = "tk-client"
	tkClientSecret = "tk-s3cret/+&="
	tkRedirectURL  = "https://host.example/oauth/callback"
	tkInstance     = "inst-tk"
)

// tkKit is a fake provider (in memory, so it works in a synctest bubble),
// a store, a keyring and a resolver: what several host processes share.
type tkKit struct {
	srv  *oauthtest.Server
	st   store.Store
	ring *keyring.Keyring
	typ  connection.Type
	res  *tkResolver
}

// newTKKit builds a kit over st (nil: a new memory store). oauth2 may
// change the type's OAuth 2.0 settings.
func newTKKit(t testing.TB, cfg oauthtest.Config, st store.Store, settings func(o *connection.OAuth2)) *tkKit {
	t.Helper()
	return newTKKitOn(t, oauthtest.NewUnstarted(t, tkServerConfig(cfg)), st, settings)
}

// tkServerConfig registers the kit's client in cfg.
func tkServerConfig(cfg oauthtest.Config) oauthtest.Config {
	cfg.Clients = append(cfg.Clients, oauthtest.Client{ID: tkClientID, Secret: tkClientSecret, RedirectURIs: []string{tkRedirectURL}})
	return cfg
}

// newTKKitOn builds a kit around srv, made with tkServerConfig.
func newTKKitOn(t testing.TB, srv *oauthtest.Server, st store.Store, settings func(o *connection.OAuth2)) *tkKit {
	t.Helper()
	o := &connection.OAuth2{AuthorizeURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), Scopes: []string{"read"}}
	if settings != nil {
		settings(o)
	}
	typ, err := connection.Declare(connection.Type{Key: "acme", OAuth2: o})
	if err != nil {
		t.Fatal(err)
	}
	if st == nil {
		st = memory.New(memory.Options{})
	}
	key, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	values := connection.ValuesOf(map[string]string{
		connection.FieldClientID:     tkClientID,
		connection.FieldClientSecret: tkClientSecret,
	})
	return &tkKit{srv: srv, st: st, ring: ring, typ: typ, res: &tkResolver{st: st, typ: typ, values: values}}
}

// tkRef is the address of the n-th test connection.
func tkRef(n int) connection.Ref {
	return connection.Ref{InstanceID: tkInstance, Variable: "Acme " + string(rune('A'+n%26)) + tkItoa(n/26)}
}

func tkItoa(n int) string {
	if n == 0 {
		return ""
	}
	const digits = "0123456789"
	s := ""
	for ; n > 0; n /= 10 {
		s = digits[n%10:n%10+1] + s
	}
	return s
}

// connect runs CONNECT against the fake provider (authorize, code
// exchange) and stores the sealed token set, as the callback would; it
// returns the connection id.
func (k *tkKit) connect(t testing.TB, ref connection.Ref) string {
	t.Helper()
	ctx := context.Background()
	ep, err := oauth.NewEndpoint(&k.typ, k.res.values, tkRedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	loc, err := k.srv.Authorize(ctx, ep.AuthCodeURL("state-1", verifier))
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	tok, _, err := ep.Exchange(ctx, k.srv.Client(), loc.Query().Get("code"), verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	id := store.NewID()
	if c, err := k.st.GetConnection(ctx, ref); err == nil {
		id = c.ID
	}
	sealed, err := oauth.SealToken(k.ring, id, tok)
	if err != nil {
		t.Fatal(err)
	}
	for {
		c, err := k.st.GetConnection(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			c, err = &store.Connection{ID: id, Ref: ref}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		c.Token = sealed
		c.Health = connection.Health{Status: connection.StatusConfigured, Reason: "connected", Since: time.Now()}
		if _, err := k.st.PutConnection(ctx, c); err == nil {
			return id
		} else if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("PutConnection: %v", err)
		}
	}
}

// stored opens the token set stored for ref.
func (k *tkKit) stored(t testing.TB, ref connection.Ref) (*store.Connection, oauth.Token) {
	t.Helper()
	c, err := k.st.GetConnection(context.Background(), ref)
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if c.Token == nil {
		return c, oauth.Token{}
	}
	tok, err := oauth.OpenToken(k.ring, c.ID, c.Token)
	if err != nil {
		t.Fatalf("OpenToken: %v", err)
	}
	return c, tok
}

// tkOptions change the TokensConfig a test builds.
type tkOptions struct {
	store  store.Store // nil: the kit's
	events *tkEvents
	logger *slog.Logger
	edit   func(*oauth.TokensConfig)
}

// tokens builds one "host process": its own Tokens over the shared store.
// The caller must Close it (inside the synctest bubble, before it ends).
func (k *tkKit) tokens(t testing.TB, o tkOptions) *oauth.Tokens {
	t.Helper()
	st := o.store
	if st == nil {
		st = k.st
	}
	cfg := oauth.TokensConfig{
		Store:      st,
		Sealer:     k.ring,
		Resolver:   k.res,
		HTTPClient: oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: k.srv.Transport()}),
		Logger:     o.logger,
		Jitter:     func(time.Duration) time.Duration { return 0 },
	}
	if o.events != nil {
		cfg.Events = o.events.add
	}
	if o.edit != nil {
		o.edit(&cfg)
	}
	tk, err := oauth.NewTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// closeTokens closes tk, failing the test if that takes too long.
func closeTokens(t testing.TB, tk *oauth.Tokens) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tk.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// tkResolver resolves every ref of tkInstance to the kit's type and values,
// reading the connection record for its id as template.Manager does.
type tkResolver struct {
	st     store.Store
	typ    connection.Type
	values connection.Values
	calls  atomic.Int64
}

func (r *tkResolver) Resolve(ctx context.Context, ref connection.Ref) (*template.Resolution, error) {
	r.calls.Add(1)
	res := &template.Resolution{
		Ref:      ref,
		Instance: connection.Instance{ID: ref.InstanceID},
		Variable: connection.Variable{Key: ref.Variable, Type: r.typ.Clone()},
		Values:   r.values.Clone(),
	}
	c, err := r.st.GetConnection(ctx, ref)
	switch {
	case err == nil:
		res.ConnectionID, res.Revision, res.Health = c.ID, c.Revision, c.Health
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return res, nil
}

// tkEvents records the events a Tokens emits.
type tkEvents struct {
	mu   sync.Mutex
	list []oauth.Event
}

func (e *tkEvents) add(ev oauth.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *tkEvents) all() []oauth.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// kinds returns the kinds of the events about connection id, in order.
func (e *tkEvents) kinds(id string) []oauth.EventKind {
	var out []oauth.EventKind
	for _, ev := range e.all() {
		if ev.ConnectionID == id {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// tkLogBuffer collects slog output for secret checks.
type tkLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tkLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *tkLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tkTokenRequestTimes records when the fake provider received refresh
// requests (through Config.Intercept).
type tkTokenRequestTimes struct {
	mu    sync.Mutex
	times []time.Time
}

func (r *tkTokenRequestTimes) all() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.times)
}

// intercept is an oauthtest Config.Intercept that records the time of each
// token request and lets the server answer it.
func (r *tkTokenRequestTimes) intercept(_ http.ResponseWriter, req *http.Request) bool {
	if req.URL.Path == oauthtest.PathToken {
		r.mu.Lock()
		r.times = append(r.times, time.Now())
		r.mu.Unlock()
	}
	return false
}

// tkTextLogger logs everything, at every level, as text into w.
func tkTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tkPostgresEnv names the environment variable with the DSN of a PostgreSQL
// database the tests may create schemas in (the one store/sqlstore's tests
// read too).
const tkPostgresEnv = "CONNKIT_TEST_POSTGRES_DSN"

// tkPostgresSchema creates a fresh schema in the PostgreSQL database named
// by CONNKIT_TEST_POSTGRES_DSN, dropped when the test ends, and returns a
// DSN whose search_path is that schema. Without the variable it skips the
// test, except under CI=true, where the PostgreSQL variants must run.
func tkPostgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv(tkPostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is unset: the PostgreSQL variant must run in CI", tkPostgresEnv)
		}
		t.Skipf("set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL", tkPostgresEnv)
	}
	schema := "connkit_oauth_test_" + store.NewID()
	exec := func(q string) error {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = db.ExecContext(ctx, q)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// A keyword/value DSN.
		return base + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// tkOpenPostgres opens (and migrates) a store over dsn, closed when the
// test ends: one "process's" connection pool.
func tkOpenPostgres(t *testing.T, dsn string) store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.PostgreSQL, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}
