package connkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// Config wires a [Host]. Store, Sealer and CallbackURL are required; the zero
// value of every other field works.
type Config struct {
	// Store keeps connections, tokens, templates, logs and leases; share
	// one (PostgreSQL) between host replicas.
	Store store.Store
	// Sealer seals every secret before it reaches Store (store/keyring).
	Sealer store.Sealer
	// CallbackURL is the absolute URL at which the host mounts
	// [Host.CallbackHandler]; OAuth 2.0 providers redirect there. It is
	// never derived from a request. See [CallbackURL] for the custom-domain
	// form.
	CallbackURL string
	// Logger receives connkit's records (never a secret); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Egress pins outbound traffic to a proxy or a local source address.
	Egress Egress
	// AllowPrivateNetworks lets outbound calls reach loopback and private
	// addresses. Tests and single-tenant hosts may set it; a multi-tenant
	// host must not, or tenants can make it call its internal services.
	AllowPrivateNetworks bool
	// Events, when set, learns of refreshes, refresh failures, recoveries
	// and disconnects (no secrets).
	Events func(oauth.Event)
	// RefreshConcurrency bounds concurrent background refreshes; zero
	// means the refresher's default.
	RefreshConcurrency int
	// Issuer names the issuer identifier of a connection's authorization
	// server ("" for none); see oauth.IssuerByType for a map by type key.
	// With an issuer, CONNECT, refreshes and client credentials renewals
	// use the server's metadata, and the callback checks its iss parameter
	// (RFC 9207), the defence against mix-up attacks when several
	// authorization servers share one callback URL.
	Issuer func(res *template.Resolution) string
	// Metadata is authorization server metadata known in advance, keyed by
	// issuer; other issuers are discovered (RFC 8414).
	Metadata map[string]*oauth.Metadata
	// MetadataTTL is how long discovered metadata is reused; zero means
	// oauth.DefaultMetadataTTL.
	MetadataTTL time.Duration
	// AllowUnboundConnect lets [Host.Connect] start a CONNECT that is not
	// bound to the customer's browser. Leave it off: without the binding,
	// a customer can send the authorize URL to someone else and receive
	// that person's account in their connection (RFC 9700 section 4.7).
	// Use [Host.StartConnect] instead.
	AllowUnboundConnect bool
}

// Egress says where outbound traffic leaves from, so customers can allowlist
// the host's addresses.
type Egress struct {
	// Proxy, when set, carries every outbound request.
	Proxy *url.URL
	// LocalAddr, when valid, is the source address of outbound connections.
	LocalAddr netip.Addr
}

// String describes the egress without proxy credentials.
func (e Egress) String() string {
	var parts []string
	if e.Proxy != nil {
		p := *e.Proxy
		p.User = nil
		parts = append(parts, "proxy "+p.String())
	}
	if e.LocalAddr.IsValid() {
		parts = append(parts, "source address "+e.LocalAddr.String())
	}
	if len(parts) == 0 {
		return "direct"
	}
	return strings.Join(parts, ", ")
}

// CallbackURL returns the callback URL of the custom-domain form
// https://oauth2.<domain>/callback, for hosts that let customers see their
// own domain at the provider's consent screen.
func CallbackURL(domain string) string {
	return "https://oauth2." + strings.TrimSuffix(strings.TrimPrefix(domain, "."), ".") + "/callback"
}

// Sentinel errors of the Host, matched with errors.Is.
var (
	// ErrUnknown: a component, integration or step the host does not know.
	ErrUnknown = errors.New("connkit: unknown")
	// ErrDuplicate: a component registered twice.
	ErrDuplicate = errors.New("connkit: already registered")
	// ErrConfig: a Config the Host cannot work with.
	ErrConfig = errors.New("connkit: invalid configuration")
)

// Host is connkit wired for a host application: components, integrations,
// instances, their connections' values, CONNECT, the OAuth 2.0 callback,
// DISCONNECT, steps run with ready-to-use connections, statuses and logs.
// Create it with [New]; it is safe for concurrent use. Call [Host.Run] to
// refresh tokens in the background.
type Host struct {
	cfg       Config
	now       func() time.Time
	logger    *slog.Logger
	transport *http.Transport
	templates *template.Manager
	tokens    *oauth.Tokens
	refresher *oauth.Refresher
	flow      *oauth.Flow

	mu           sync.RWMutex
	components   map[string]*component.Component
	integrations map[integrationKey]map[string]component.Step
}

type integrationKey struct {
	id      string
	version int
}

// New wires a Host from cfg.
func New(cfg Config) (*Host, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, fmt.Errorf("connkit: Config.Store and Config.Sealer are required: %w", ErrConfig)
	}
	u, err := url.Parse(cfg.CallbackURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("connkit: Config.CallbackURL %q must be an absolute http(s) URL: %w", cfg.CallbackURL, ErrConfig)
	}
	h := &Host{
		cfg:          cfg,
		now:          cfg.Now,
		logger:       cfg.Logger,
		components:   make(map[string]*component.Component),
		integrations: make(map[integrationKey]map[string]component.Step),
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	h.transport = httpx.NewTransport(httpx.Config{
		AllowPrivate: cfg.AllowPrivateNetworks,
		Proxy:        cfg.Egress.Proxy,
		LocalAddr:    cfg.Egress.LocalAddr,
	})
	// Token, revocation and metadata endpoints: no redirects, a size cap,
	// retries only where a request cannot have been processed twice.
	tokenClient := oauth.NewHTTPClient(oauth.HTTPClientConfig{
		Transport: h.transport,
		Logger:    h.logger,
	})
	h.templates = template.New(cfg.Store, cfg.Sealer, template.Options{Now: h.now, Logger: h.logger})
	h.tokens, err = oauth.NewTokens(oauth.TokensConfig{
		Store:      cfg.Store,
		Sealer:     cfg.Sealer,
		Resolver:   h.templates,
		HTTPClient: tokenClient,
		Logger:     h.logger,
		Now:        h.now,
		Events:     cfg.Events,
		// Refresh must reach what CONNECT reached.
		AllowPrivateNetworks: cfg.AllowPrivateNetworks,
		Issuer:               cfg.Issuer,
		Metadata:             cfg.Metadata,
		MetadataTTL:          cfg.MetadataTTL,
	})
	if err != nil {
		return nil, wrapConfig(err)
	}
	h.refresher = oauth.NewRefresher(h.tokens, oauth.RefresherConfig{Concurrency: cfg.RefreshConcurrency})
	h.flow, err = oauth.NewFlow(oauth.FlowConfig{
		Store:                cfg.Store,
		Sealer:               cfg.Sealer,
		Resolver:             h.templates,
		RedirectURL:          cfg.CallbackURL,
		HTTPClient:           tokenClient,
		Scheduler:            h.refresher,
		Logger:               h.logger,
		Now:                  h.now,
		AllowPrivateNetworks: cfg.AllowPrivateNetworks,
		Issuer:               cfg.Issuer,
		Metadata:             cfg.Metadata,
		MetadataTTL:          cfg.MetadataTTL,
		AllowUnboundConnect:  cfg.AllowUnboundConnect,
	})
	if err != nil {
		return nil, wrapConfig(err)
	}
	return h, nil
}

// Templates returns the template manager: connection templates,
// publication, views per audience and YAML import/export.
func (h *Host) Templates() *template.Manager { return h.templates }

// Egress returns where outbound traffic leaves from, for a settings page.
func (h *Host) Egress() Egress { return h.cfg.Egress }

// Register declares a component (see component.Declare) and makes it
// available to integrations.
func (h *Host) Register(c component.Component) (*component.Component, error) {
	d, err := component.Declare(c)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.components[d.Key]; dup {
		return nil, fmt.Errorf("connkit: component %q: %w", d.Key, ErrDuplicate)
	}
	h.components[d.Key] = d
	return d, nil
}

// Component returns a registered component.
func (h *Host) Component(key string) (*component.Component, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.components[key]
	return c, ok
}

// RegisterIntegration registers an integration version built with a
// component.Builder: its connection config variables (with the template
// manager) and its steps.
func (h *Host) RegisterIntegration(b *component.Builder) error {
	in := b.Integration()
	steps := b.Steps()
	h.mu.RLock()
	for _, s := range steps {
		if _, ok := h.components[s.Component]; !ok {
			h.mu.RUnlock()
			return fmt.Errorf("connkit: step %q uses component %q, which is not registered: %w", s.Name, s.Component, ErrUnknown)
		}
	}
	h.mu.RUnlock()
	if err := h.templates.Register(in); err != nil {
		return err
	}
	byName := make(map[string]component.Step, len(steps))
	for _, s := range steps {
		byName[s.Name] = s
	}
	h.mu.Lock()
	h.integrations[integrationKey{in.ID, in.Version}] = byName
	h.mu.Unlock()
	return nil
}

// Deploy records a customer's instance of a registered integration version.
func (h *Host) Deploy(ctx context.Context, in connection.Instance) error {
	return h.templates.Deploy(ctx, in)
}

// SetValues sets a connection's values on behalf of an audience
// (template.AudienceCustomer or template.AudienceHost), all or nothing.
func (h *Host) SetValues(ctx context.Context, ref connection.Ref, audience template.Audience, values connection.Values) error {
	return h.templates.SetValues(ctx, ref, audience, values)
}

// StartConnect starts the OAuth 2.0 authorization code flow for a
// connection and answers the customer's browser with a redirect to the
// provider, binding the CONNECT to that browser with a cookie: the callback
// refuses it from any other browser.
//
// Mount it on a POST route, behind the host's own authentication and CSRF
// protection, on the same scheme, host and port as Config.CallbackURL (a
// reverse proxy must pass the original Host header). When the returned
// error matches oauth.ErrBadStartRequest the response was already written
// (405 for a method other than POST, 421 for another host); for any other
// error nothing was written and the host answers itself.
func (h *Host) StartConnect(w http.ResponseWriter, r *http.Request, ref connection.Ref) error {
	return h.flow.StartRedirect(w, r, ref)
}

// Connect starts a CONNECT that is not bound to a browser and returns the
// URL to send the customer to. It fails with oauth.ErrUnboundConnect unless
// Config.AllowUnboundConnect is set; prefer [Host.StartConnect].
func (h *Host) Connect(ctx context.Context, ref connection.Ref) (string, error) {
	return h.flow.Start(ctx, ref)
}

// ConnectClientCredentials obtains a token for a connection whose type uses
// the client credentials grant.
func (h *Host) ConnectClientCredentials(ctx context.Context, ref connection.Ref) error {
	return h.flow.ConnectClientCredentials(ctx, ref)
}

// CallbackHandler returns the http.Handler to mount at the path of
// Config.CallbackURL.
func (h *Host) CallbackHandler() http.Handler { return h.flow }

// Disconnect stops refreshing a connection, deletes its tokens and revokes
// them at the provider when the type declares a revoke URL.
func (h *Host) Disconnect(ctx context.Context, ref connection.Ref) (*oauth.DisconnectResult, error) {
	return h.flow.Disconnect(ctx, ref)
}

// Health returns a connection's status.
func (h *Host) Health(ctx context.Context, ref connection.Ref) (connection.Health, error) {
	c, err := h.cfg.Store.GetConnection(ctx, ref)
	if err != nil {
		return connection.Health{}, err
	}
	return c.Health, nil
}

// Logs returns up to limit entries of a connection's log, newest first, with
// Seq < before (before <= 0: from the newest).
func (h *Host) Logs(ctx context.Context, ref connection.Ref, before int64, limit int) ([]store.LogEntry, error) {
	c, err := h.cfg.Store.GetConnection(ctx, ref)
	if err != nil {
		return nil, err
	}
	return h.cfg.Store.ListLogs(ctx, c.ID, before, limit)
}

// Run refreshes tokens in the background until ctx is done. Every replica
// may run it; leases in the store make each refresh happen once.
func (h *Host) Run(ctx context.Context) error { return h.refresher.Run(ctx) }

// Close waits for token refreshes in progress to finish (or for ctx to be
// done) and releases idle outbound connections. Stop [Host.Run] first.
func (h *Host) Close(ctx context.Context) error {
	err := h.tokens.Close(ctx)
	h.transport.CloseIdleConnections()
	return err
}

// wrapConfig wraps an error of the parts New wires, adding ErrConfig when
// the part reports a configuration problem.
func wrapConfig(err error) error {
	if errors.Is(err, oauth.ErrConfig) {
		return fmt.Errorf("connkit: %w: %w", ErrConfig, err)
	}
	return fmt.Errorf("connkit: %w", err)
}
