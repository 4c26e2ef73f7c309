// Package app is the example host application: connkit embedded in a small
// web application with server-rendered pages.
//
// One [App] serves, on one loopback listener:
//
//   - the host's pages: integrations and instances, an instance's
//     connections (customer form, status, CONNECT, DISCONNECT, log), steps
//     to run, connection templates, settings, and the custom OAuth 2.0
//     success and failure pages;
//   - connkit's OAuth 2.0 callback at /oauth/callback;
//   - the demo authorization server (package demoauth) under /demo/oauth/
//     and the Demo Cloud API (package democloud) under /demo/api/, so that
//     everything works offline. To connkit they are a provider and an API
//     like any other, reached over HTTP.
//
// Data lives in SQLite (a file) or PostgreSQL through store/sqlstore; the
// app's own table of integration versions sits beside connkit's tables in
// the same database.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/hostapp/demoauth"
	"github.com/connkit/connkit/examples/hostapp/internal/democloud"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/sqlstore"
	"github.com/connkit/connkit/template"
)

// Paths the app serves besides its pages.
const (
	CallbackPath     = "/oauth/callback"
	ProviderPath     = "/demo/oauth"
	APIPath          = "/demo/api"
	SuccessPath      = "/connected"
	FailurePath      = "/connect-failed"
	IntegrationID    = "demo-sync"
	IntegrationName  = "Demo Sync"
	SeedInstanceID   = "acme"
	SeedInstanceName = "Acme Corp"
)

// The demo provider's one client and user.
const (
	demoClientID     = "connkit-demo"
	demoClientSecret = "demo-client-secret"
	demoUser         = "demo"
	demoPassword     = "demo"
)

// Options configure an [App].
type Options struct {
	// BaseURL is the absolute URL the app is reached at, without a
	// trailing slash, such as http://127.0.0.1:8080. Required: the OAuth
	// 2.0 callback URL and the demo provider's URLs derive from it.
	BaseURL string
	// SQLitePath is the SQLite database file, created when absent. Used
	// when PostgresDSN is empty.
	SQLitePath string
	// PostgresDSN, when set, selects PostgreSQL instead of SQLite.
	PostgresDSN string
	// TablePrefix prefixes connkit's tables and the app's own; empty means
	// sqlstore.DefaultTablePrefix.
	TablePrefix string
	// Key seals every secret; the demo provider's token signing key is
	// derived from it, so tokens survive a restart with the same key.
	Key keyring.Key
	// KeySource says where Key came from, for the settings page.
	KeySource string
	// Logger receives the app's and connkit's records; nil discards.
	Logger *slog.Logger
	// Egress pins outbound traffic to a proxy or source address.
	Egress connkit.Egress
	// DemoTokenTTL is the lifetime of the demo provider's access tokens;
	// zero means demoauth.DefaultAccessTokenTTL.
	DemoTokenTTL time.Duration
}

// App is the example host application. Create it with [New], serve it with
// [App.Serve], and [App.Close] it.
type App struct {
	opts      Options
	log       *slog.Logger
	db        *sql.DB
	store     *sqlstore.Store
	host      *connkit.Host
	provider  *demoauth.Server
	catalog   *catalog
	component *component.Component
	handler   http.Handler
	storeDesc string

	mu      sync.Mutex
	runs    map[string]map[string]runResult // instance -> step -> last run
	notices map[string]notice               // instance -> one-shot notice
}

// New opens the database (creating tables on first use), wires connkit,
// registers the Demo Cloud component and every integration version, and
// on first run creates a connection template, publishes version 1 of the
// Demo Sync integration and deploys the "Acme Corp" instance.
func New(ctx context.Context, opts Options) (*App, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || !base.IsAbs() || base.Host == "" || base.Path != "" && base.Path != "/" {
		return nil, fmt.Errorf("app: BaseURL %q must be an absolute URL without a path", opts.BaseURL)
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TablePrefix == "" {
		opts.TablePrefix = sqlstore.DefaultTablePrefix
	}
	a := &App{opts: opts, log: opts.Logger, runs: map[string]map[string]runResult{}, notices: map[string]notice{}}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if err := a.wire(ctx); err != nil {
		_ = a.Close(context.Background())
		return nil, err
	}
	return a, nil
}

// openStore opens the database the host owns and builds connkit's store
// over it (sqlstore.New), so the app's own table can live beside.
func (a *App) openStore(ctx context.Context) error {
	dialect, driver, dsn := sqlstore.SQLite, "sqlite", sqlstore.SQLiteDSN(a.opts.SQLitePath)
	a.storeDesc = "SQLite " + a.opts.SQLitePath
	if a.opts.PostgresDSN != "" {
		dialect, driver, dsn = sqlstore.PostgreSQL, "pgx", a.opts.PostgresDSN
		a.storeDesc = "PostgreSQL " + redactDSN(a.opts.PostgresDSN)
	} else if a.opts.SQLitePath == "" {
		return errors.New("app: Options.SQLitePath or Options.PostgresDSN is required")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return fmt.Errorf("app: open %s: %w", a.storeDesc, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("app: open %s: %w", a.storeDesc, err)
	}
	st, err := sqlstore.New(db, dialect, sqlstore.Options{TablePrefix: a.opts.TablePrefix, LogRetention: 200})
	if err == nil {
		err = st.Migrate(ctx)
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("app: %w", err)
	}
	cat, err := newCatalog(ctx, db, dialect, a.opts.TablePrefix)
	if err != nil {
		db.Close()
		return fmt.Errorf("app: %w", err)
	}
	a.db, a.store, a.catalog = db, st, cat
	return nil
}

// safeDSNParams are the query parameters of a PostgreSQL URL DSN whose
// values the settings page may show. Every other parameter's value is
// masked: password and sslpassword are secrets, and a parameter unknown
// here might be one too.
var safeDSNParams = map[string]bool{
	"sslmode": true, "search_path": true, "application_name": true,
	"connect_timeout": true, "target_session_attrs": true,
}

// redactDSN describes a PostgreSQL DSN for the settings page without its
// secrets. A URL DSN keeps its scheme, user, host(s), database and the
// parameters of safeDSNParams; the password of its userinfo and the value
// of every other parameter (?password=, ?sslpassword=, ...) show as
// "xxxxx". A DSN in any other form (keyword/value) shows as "(DSN)".
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "(DSN)"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "(DSN)"
	}
	for k, vs := range q {
		if !safeDSNParams[strings.ToLower(k)] {
			for i := range vs {
				vs[i] = "xxxxx"
			}
		}
	}
	u.RawQuery = q.Encode()
	u.Fragment, u.RawFragment = "", ""
	return u.Redacted()
}

// wire builds connkit's Host, the demo provider and the handlers, then
// registers the integrations (seeding them on first run).
func (a *App) wire(ctx context.Context) error {
	ring, err := keyring.New(a.opts.Key)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.host, err = connkit.New(connkit.Config{
		Store:                a.store,
		Sealer:               ring,
		CallbackURL:          a.opts.BaseURL + CallbackPath,
		Logger:               a.log,
		Egress:               a.opts.Egress,
		AllowPrivateNetworks: true, // the demo provider and API are on loopback
		Events: func(e oauth.Event) {
			a.log.Debug("connkit event", "kind", e.Kind.String(), "connection", e.ConnectionID, "ref", e.Ref.String(), "reason", e.Reason)
		},
	})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.provider, err = demoauth.New(demoauth.Config{
		Key: deriveKey(a.opts.Key, "connkit hostapp demoauth token signing"),
		Clients: []demoauth.Client{{ID: demoClientID, Secret: connection.NewSecret(demoClientSecret), Name: "connkit demo host app",
			RedirectURIs: []string{a.opts.BaseURL + CallbackPath}}},
		Users:          []demoauth.User{{Username: demoUser, Password: connection.NewSecret(demoPassword), Name: "Demo User"}},
		Scopes:         []string{democloud.Scope},
		AccessTokenTTL: a.opts.DemoTokenTTL,
	})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.component, err = a.host.Register(democloud.Component(democloud.Options{
		ProviderURL: a.opts.BaseURL + ProviderPath,
		APIURL:      a.opts.BaseURL + APIPath,
	}))
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if err := a.loadIntegrations(ctx); err != nil {
		return err
	}
	a.handler = a.routes()
	return nil
}

// deriveKey derives a purpose-bound key from the sealing key, so one
// secret configures the demo without reusing key material across uses.
func deriveKey(k keyring.Key, purpose string) []byte {
	material, _ := base64.StdEncoding.DecodeString(k.Base64())
	m := hmac.New(sha256.New, material)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// Host returns the embedded connkit host.
func (a *App) Host() *connkit.Host { return a.host }

// Serve serves the app on ln and runs connkit's token refresher until ctx
// is done, then shuts down gracefully: it stops accepting connections,
// waits up to 10 seconds for requests in flight and stops the refresher.
// It returns nil after a shutdown caused by ctx.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	runCtx, stopRefresher := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.host.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("token refresher stopped", "error", err)
		}
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
		<-serveErr
	case err = <-serveErr:
	}
	stopRefresher()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close waits for token refreshes in progress and closes the database.
// Stop Serve first.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.host != nil {
		errs = append(errs, a.host.Close(ctx))
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// Integration wiring ---------------------------------------------------------

// Variable keys of the Demo Sync integration (the builder names a
// variable after its type's label).
const (
	OAuthVariable  = "Demo Cloud Connection"
	APIKeyVariable = "Demo Cloud API key Connection"
)

// step is a step of the Demo Sync integration as the pages show it.
type step struct {
	Name, Label, Variable string
}

var steps = []step{
	{Name: democloud.ActionListProjects, Label: "List projects", Variable: OAuthVariable},
	{Name: democloud.ActionCheckKey, Label: "Check API key", Variable: APIKeyVariable},
}

// builder builds one version of the Demo Sync integration: two steps, one
// per connection type, and the OAuth variable's visibility, template and
// custom redirect pages.
func (a *App) builder(v version) (*component.Builder, error) {
	b := component.NewBuilder(IntegrationID, IntegrationName, v.Version)
	for _, s := range steps {
		if _, err := b.AddStep(s.Name, a.component, s.Name, component.StepOptions{}); err != nil {
			return nil, err
		}
	}
	err := b.Variable(OAuthVariable, func(cv *connection.Variable) {
		cv.Template = v.Template
		cv.Visibility = map[string]connection.Visibility{
			connection.FieldAuthorizeURL: connection.Hidden,
			connection.FieldTokenURL:     connection.Hidden,
			connection.FieldRevokeURL:    connection.Hidden,
			connection.FieldScopes:       connection.Hidden,
			democloud.FieldAPIBase:       connection.Hidden,
		}
		cv.SuccessRedirect = a.opts.BaseURL + SuccessPath
		cv.FailureRedirect = a.opts.BaseURL + FailurePath
	})
	if err != nil {
		return nil, err
	}
	err = b.Variable(APIKeyVariable, func(cv *connection.Variable) {
		cv.Visibility = map[string]connection.Visibility{democloud.FieldAPIBase: connection.Hidden}
	})
	return b, err
}

// loadIntegrations registers every version in the catalog, seeding the
// catalog first when it is empty.
func (a *App) loadIntegrations(ctx context.Context) error {
	vs, err := a.catalog.versions(ctx, IntegrationID)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if len(vs) == 0 {
		if err := a.seed(ctx); err != nil {
			return fmt.Errorf("app: first run: %w", err)
		}
		return nil
	}
	for _, v := range vs {
		if err := a.registerVersion(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) registerVersion(ctx context.Context, v version) error {
	b, err := a.builder(v)
	if err != nil {
		return fmt.Errorf("app: integration version %d: %w", v.Version, err)
	}
	if err := a.host.RegisterIntegration(b); err != nil {
		return fmt.Errorf("app: integration version %d: %w", v.Version, err)
	}
	if v.Published {
		// Idempotent; it restores the template pins if the catalog was
		// written and the pins were not.
		if err := a.host.Templates().Publish(ctx, IntegrationID, v.Version); err != nil {
			return fmt.Errorf("app: publish integration version %d: %w", v.Version, err)
		}
	}
	return nil
}

// seed creates what a fresh database needs to show something: a template
// with the demo provider's client credentials, version 1 referencing it,
// published, and one deployed instance.
func (a *App) seed(ctx context.Context) error {
	typ, _ := a.component.ConnectionType(democloud.TypeOAuth)
	tpl, err := a.host.Templates().CreateTemplate(ctx, template.TemplateSpec{
		Name:      "Demo Cloud app credentials",
		Component: democloud.ComponentKey,
		Type:      typ,
		Values: connection.ValuesOf(map[string]string{
			connection.FieldClientID:     demoClientID,
			connection.FieldClientSecret: demoClientSecret,
		}),
	})
	if err != nil {
		return err
	}
	n, err := a.catalog.add(ctx, IntegrationID, tpl.ID, time.Now())
	if err != nil {
		return err
	}
	v := version{Integration: IntegrationID, Version: n, Template: tpl.ID}
	if err := a.registerVersion(ctx, v); err != nil {
		return err
	}
	if err := a.publish(ctx, n); err != nil {
		return err
	}
	return a.host.Deploy(ctx, connection.Instance{ID: SeedInstanceID, Name: SeedInstanceName,
		IntegrationID: IntegrationID, IntegrationName: IntegrationName, IntegrationVersion: n})
}

// publish publishes a version: connkit pins its template, the catalog
// records it.
func (a *App) publish(ctx context.Context, n int) error {
	if err := a.host.Templates().Publish(ctx, IntegrationID, n); err != nil {
		return err
	}
	return a.catalog.publish(ctx, IntegrationID, n)
}
