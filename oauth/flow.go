package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// Defaults of [FlowConfig].
const (
	// DefaultStateTTL is how long a started CONNECT may take to come back.
	DefaultStateTTL = 10 * time.Minute
	// DefaultMetadataTTL is how long discovered metadata is reused.
	DefaultMetadataTTL = time.Hour
	// callbackTimeout bounds the work of one callback after its state is
	// consumed; that work no longer depends on the browser waiting.
	callbackTimeout = 2 * time.Minute
)

// FlowConfig configures a [Flow]. Store, Sealer, Resolver and RedirectURL are
// required; every other field's zero value works.
//
// Whatever the configuration, a Flow (and a [Tokens]) sends a connection's
// client secret, codes and tokens only to endpoint URLs that come from the
// layer of the connection's values giving the client secret or one below
// it (type default < template < variable default < instance value), and
// to URLs the customer set only with the customer's own secret: see "Who
// may choose the endpoints" in the package documentation.
type FlowConfig struct {
	// Store keeps connections, pending authorizations and logs.
	Store store.Store
	// Sealer seals tokens, PKCE verifiers and the connection id carried in
	// the state parameter.
	Sealer store.Sealer
	// Resolver resolves a connection's effective values (*template.Manager).
	// The origin check relies on the Sources of its resolutions.
	Resolver Resolver
	// RedirectURL is the host's callback URL, where it mounts the Flow's
	// handler, exactly as registered with providers. It is configuration,
	// never derived from a request's Host header. It must be an absolute
	// https URL (http only for loopback hosts or with AllowPrivateNetworks)
	// without fragment or user information.
	RedirectURL string
	// HTTPClient calls token and revocation endpoints and fetches
	// metadata. Nil means NewHTTPClient with AllowPrivateNetworks and Logger
	// from this config. A client given here is used as is: give it the
	// behaviour of [NewHTTPClient] (no redirects, retries, timeouts).
	HTTPClient *http.Client
	// Scheduler learns about connections that hold refresh tokens; nil
	// means none.
	Scheduler Scheduler
	// Logger receives the flow's records (never a secret); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StateTTL is how long a started CONNECT stays valid; zero means
	// [DefaultStateTTL]. The lifetime is counted by the store's clock
	// (store.PendingAuth.TTL): it starts when the store records the
	// pending authorization and ends when the store's clock has moved on
	// by StateTTL, so the clocks of the replica that starts the CONNECT and
	// of the one that serves its callback play no part. (A store written
	// before PendingAuth.TTL existed keeps the ExpiresAt the starting
	// replica computes from Now instead: that replica's clock error then
	// shortens or lengthens the lifetime by as much.)
	StateTTL time.Duration
	// AllowPrivateNetworks lets the default HTTP client reach loopback and
	// private addresses, and allows plain-http authorize, token and
	// revocation URLs. For tests, the example app and single-tenant hosts;
	// a multi-tenant host must leave it off, since tenants can set URLs.
	AllowPrivateNetworks bool
	// Issuer, when set, names the issuer identifier of a connection's
	// authorization server, or "" for none (see [IssuerByType]). For a
	// connection with an issuer, the flow uses the server's metadata (from
	// Metadata, else discovered with [Discover] and cached for MetadataTTL):
	// its endpoints fill the authorize, token and revocation URLs the
	// connection does not set itself, its PKCE methods can upgrade a
	// type's plain to S256 (never the other way), the issuer is checked
	// against the callback's iss parameter (RFC 9207), which is required
	// when the metadata says the server sends it. Give [TokensConfig] the
	// same Issuer, Metadata and MetadataTTL: refreshes fill the URLs the
	// same way, and cannot reach a token URL only the metadata names
	// without them.
	Issuer func(res *template.Resolution) string
	// Metadata is metadata known in advance, keyed by issuer identifier;
	// these issuers are never discovered. Each document's Issuer must equal
	// its key.
	Metadata map[string]*Metadata
	// MetadataTTL is how long discovered metadata is reused; zero means
	// [DefaultMetadataTTL].
	MetadataTTL time.Duration
	// AllowUnboundConnect lets a CONNECT complete without being bound to
	// the browser that started it. By default (false) every CONNECT must be
	// begun with [Flow.StartRedirect], which binds it to the browser with a
	// cookie: [Flow.Start] fails with [ErrUnboundConnect], and the callback
	// refuses a pending authorization begun without binding. Without
	// binding, a customer can start a CONNECT of their own connection and
	// send the authorize URL to someone else, whose third-party account
	// then ends up in the customer's connection (RFC 9700 section 4.7).
	// Set it only for hosts that cannot answer the browser themselves and
	// accept that risk, or in tests that play the browser.
	AllowUnboundConnect bool
}

// Flow runs the OAuth 2.0 flows of connections: CONNECT ([Flow.Start] or
// [Flow.StartRedirect], and the callback handler, [Flow.ServeHTTP]), DISCONNECT ([Flow.Disconnect])
// and the client credentials grant ([Flow.ConnectClientCredentials],
// [Flow.ClientCredentialsToken]). It is safe for concurrent use and holds
// no per-request state between calls: any replica sharing the store can
// serve a callback for a CONNECT another one started.
type Flow struct {
	store        store.Store
	sealer       store.Sealer
	resolver     Resolver
	redirectURL  string
	client       *http.Client
	scheduler    Scheduler
	logger       *slog.Logger
	journal      journal
	now          func() time.Time
	stateTTL     time.Duration
	allowPrivate bool
	allowUnbound bool
	discovery    *discovery
	ccGroup      singleflight.Group
}

// NewFlow checks cfg and returns a Flow. A configuration it refuses gives
// an error matching [ErrConfig].
func NewFlow(cfg FlowConfig) (*Flow, error) {
	var missing []string
	if cfg.Store == nil {
		missing = append(missing, "Store")
	}
	if cfg.Sealer == nil {
		missing = append(missing, "Sealer")
	}
	if cfg.Resolver == nil {
		missing = append(missing, "Resolver")
	}
	if cfg.RedirectURL == "" {
		missing = append(missing, "RedirectURL")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("oauth: FlowConfig needs %s: %w", strings.Join(missing, ", "), ErrConfig)
	}
	if err := checkRedirectURL(cfg.RedirectURL, cfg.AllowPrivateNetworks); err != nil {
		return nil, err
	}
	f := &Flow{
		store:        cfg.Store,
		sealer:       cfg.Sealer,
		resolver:     cfg.Resolver,
		redirectURL:  cfg.RedirectURL,
		client:       cfg.HTTPClient,
		scheduler:    cfg.Scheduler,
		logger:       cfg.Logger,
		now:          cfg.Now,
		stateTTL:     cfg.StateTTL,
		allowPrivate: cfg.AllowPrivateNetworks,
		allowUnbound: cfg.AllowUnboundConnect,
	}
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.stateTTL <= 0 {
		f.stateTTL = DefaultStateTTL
	}
	if f.client == nil {
		f.client = NewHTTPClient(HTTPClientConfig{AllowPrivateNetworks: cfg.AllowPrivateNetworks, Logger: cfg.Logger})
	}
	d, err := newDiscovery("FlowConfig", cfg.Issuer, cfg.Metadata, cfg.MetadataTTL, f.client, f.now)
	if err != nil {
		return nil, err
	}
	f.discovery = d
	f.journal = newJournal(cfg.Store, f.logger, f.now)
	return f, nil
}

// HTTPClient returns the client the flow calls token and revocation
// endpoints with.
func (f *Flow) HTTPClient() *http.Client { return f.client }

// CallbackHandler returns f as an http.Handler, for hosts that prefer a
// method value to mount.
func (f *Flow) CallbackHandler() http.Handler { return f }

// checkRedirectURL validates the host's callback URL; its errors match
// ErrConfig.
func checkRedirectURL(s string, allowPrivate bool) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("oauth: RedirectURL %q must be an absolute URL: %w", s, ErrConfig)
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("oauth: RedirectURL must not contain user information or a fragment: %w", ErrConfig)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (allowPrivate || isLoopbackHost(u.Hostname())):
	default:
		return fmt.Errorf("oauth: RedirectURL %q must use https (http only for loopback hosts): %w", s, ErrConfig)
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// connState is what the flows know about one connection: its resolution,
// the values with metadata endpoints filled in, and the resolved endpoint.
type connState struct {
	res      *template.Resolution
	typ      connection.Type
	values   connection.Values
	md       *Metadata
	endpoint *Endpoint
}

// prepare resolves ref and builds its endpoint for the given grant ("" for
// any). The values are validated against the type after the metadata's
// endpoints are filled in, unless validate is false (DISCONNECT needs only
// the client and the revocation URL).
func (f *Flow) prepare(ctx context.Context, ref connection.Ref, grant connection.GrantType, validate bool) (*connState, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	res, err := f.resolver.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("oauth: resolve %s: %w", ref, err)
	}
	cs, err := f.prepareResolved(ctx, res, grant, validate)
	if err != nil {
		return &connState{res: res}, err
	}
	return cs, nil
}

func (f *Flow) prepareResolved(ctx context.Context, res *template.Resolution, grant connection.GrantType, validate bool) (*connState, error) {
	return prepareResolved(ctx, f.discovery, res, grant, validate, f.redirectURL, f.allowPrivate, f.now)
}

// prepareResolved builds the endpoint of the resolved connection res for
// the given grant ("" for any), stamping token sets with now. It is the one
// place where a connection's endpoints are filled from its authorization
// server's metadata (found through d; nil d or no issuer means none), for
// the Flow (CONNECT, client credentials, DISCONNECT) and for [Tokens]
// (refresh, client credentials renewal, revoking a lost set) alike: only
// values the connection leaves empty are filled, so they count as type
// defaults for the origin check (see origin.go), and the endpoint is built
// with every check of endpointFrom. The values are validated against the
// type after the metadata's endpoints are filled in, unless validate is
// false.
func prepareResolved(ctx context.Context, d *discovery, res *template.Resolution, grant connection.GrantType, validate bool,
	redirectURL string, allowPrivate bool, now func() time.Time) (*connState, error) {
	cs := &connState{res: res, typ: res.Variable.Type.Clone(), values: res.Values.Clone()}
	o := cs.typ.OAuth2
	if o == nil {
		return nil, fmt.Errorf("oauth: connection %s: type %q has no OAuth 2.0 settings: %w", res.Ref, cs.typ.Key, ErrMisconfigured)
	}
	if grant != "" && o.GrantOrDefault() != grant {
		return nil, fmt.Errorf("oauth: connection %s: type %q uses the %s grant, not %s: %w", res.Ref, cs.typ.Key, o.GrantOrDefault(), grant, ErrMisconfigured)
	}
	md, err := d.metadataOf(ctx, res)
	if err != nil {
		return nil, fmt.Errorf("oauth: connection %s: %w", res.Ref, err)
	}
	cs.md = md
	fill := func(key, v string, declaredOnly bool) {
		if v != "" && cs.values.String(key) == "" && (!declaredOnly || cs.typ.HasField(key)) {
			cs.values.Set(key, v)
		}
	}
	if cs.md != nil {
		fill(connection.FieldAuthorizeURL, cs.md.AuthorizationEndpoint, true)
		fill(connection.FieldTokenURL, cs.md.TokenEndpoint, true)
		fill(connection.FieldRevokeURL, cs.md.RevocationEndpoint, true)
	}
	if validate {
		if err := cs.typ.ValidateValues(cs.values); err != nil {
			return nil, fmt.Errorf("oauth: connection %s: %w: %w", res.Ref, ErrMisconfigured, err)
		}
	}
	if cs.md != nil {
		// A type without a revoke URL has no such field: the endpoint
		// reads the discovered one from the values, after validation.
		fill(connection.FieldRevokeURL, cs.md.RevocationEndpoint, false)
	}
	if cs.md != nil {
		o.PKCE = pkceMethod(o, cs.md)
	}
	ep, err := endpointFrom(res, &cs.typ, cs.values, redirectURL, allowPrivate)
	if err != nil {
		return nil, err
	}
	cs.endpoint = ep.withClock(now)
	return cs, nil
}

// ensureConnection returns the id of the connection record at ref, creating
// the record when absent.
func (f *Flow) ensureConnection(ctx context.Context, ref connection.Ref, known string) (string, error) {
	if known != "" {
		return known, nil
	}
	for range 8 {
		c, err := f.store.GetConnection(ctx, ref)
		if err == nil {
			return c.ID, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("oauth: read connection %s: %w", ref, err)
		}
		c = &store.Connection{ID: store.NewID(), Ref: ref}
		if _, err := f.store.PutConnection(ctx, c); err == nil {
			return c.ID, nil
		} else if !errors.Is(err, store.ErrConflict) {
			return "", fmt.Errorf("oauth: create connection %s: %w", ref, err)
		}
	}
	return "", fmt.Errorf("oauth: create connection %s: %w", ref, store.ErrConflict)
}

// managedMetadataKeys are the metadata keys a type fills from token
// responses and callbacks; a new token set replaces them, DISCONNECT
// removes them.
func managedMetadataKeys(o *connection.OAuth2) []string {
	if o == nil {
		return nil
	}
	keys := make([]string, 0, len(o.TokenResponseFields)+len(o.CallbackParams))
	keys = append(keys, o.TokenResponseFields...)
	return append(keys, o.CallbackParams...)
}

// saveToken seals tok into the connection record connID (recreating it at
// ref if it vanished), replaces the type's managed metadata with meta, sets
// the health to configured and returns the stored record.
func (f *Flow) saveToken(ctx context.Context, connID string, ref connection.Ref, o *connection.OAuth2, tok Token, meta map[string]string) (*store.Connection, error) {
	sealed, err := SealToken(f.sealer, connID, tok)
	if err != nil {
		return nil, err
	}
	for range 16 {
		c, err := f.store.GetConnectionByID(ctx, connID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c = &store.Connection{ID: connID, Ref: ref}
		case err != nil:
			return nil, fmt.Errorf("oauth: read connection %s: %w", connID, err)
		case c.Ref != ref:
			return nil, fmt.Errorf("oauth: connection %s is not at %s: %w", connID, ref, store.ErrConflict)
		}
		c.Token = sealed
		for _, k := range managedMetadataKeys(o) {
			delete(c.Metadata, k)
		}
		if len(meta) > 0 && c.Metadata == nil {
			c.Metadata = make(map[string]string, len(meta))
		}
		for k, v := range meta {
			c.Metadata[k] = v
		}
		c.Health = connection.Health{Status: connection.StatusConfigured, Reason: "connected", Since: f.now()}
		rev, err := f.store.PutConnection(ctx, c)
		if err == nil {
			c.Revision = rev
			return c, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("oauth: store token of connection %s: %w", connID, err)
		}
	}
	return nil, fmt.Errorf("oauth: store token of connection %s: %w", connID, store.ErrConflict)
}

// markFailed sets a connection without a token set to the error status; a
// connection holding a working token set keeps its status.
func (f *Flow) markFailed(ctx context.Context, connID, reason string) {
	c, err := f.store.GetConnectionByID(ctx, connID)
	if err != nil || c.Token != nil {
		return
	}
	if err := setHealth(ctx, f.store, connID, connection.StatusError, reason, f.now()); err != nil {
		f.logger.Warn("connkit: cannot set connection status", "connection", connID, "error", err)
	}
}

// tokenAttrs are the log attributes of a token set: never a secret.
func tokenAttrs(tok Token) map[string]string {
	a := map[string]string{
		"expires_at":  tok.Expiry.UTC().Format(time.RFC3339),
		"refreshable": fmt.Sprint(!tok.RefreshToken.IsZero()),
		"token_type":  sanitize(tok.TokenType, 32),
	}
	if len(tok.Scopes) > 0 {
		a["scopes"] = sanitize(strings.Join(tok.Scopes, " "), 512)
	}
	return a
}

// errorAttrs describes err for a connection log: the provider's error code
// and description when it sent them, and never a secret.
func errorAttrs(stage string, err error) map[string]string {
	a := map[string]string{"stage": stage}
	if te, ok := errors.AsType[*TokenError](err); ok {
		if te.Code != "" {
			a["error"] = te.Code
		}
		if te.Description != "" {
			a["error_description"] = te.Description
		}
		if te.StatusCode != 0 {
			a["http_status"] = fmt.Sprint(te.StatusCode)
		}
	}
	if ec, ok := errors.AsType[*EndpointChangedError](err); ok {
		ec.attrs(a)
	}
	a["detail"] = sanitize(err.Error(), 512)
	return a
}
