package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// Defaults of [TokensConfig].
const (
	// DefaultLeaseTTL is how long a refresh lease is held at most.
	DefaultLeaseTTL = 30 * time.Second
	// DefaultRefreshTimeout bounds one refresh: waiting for the lease, the
	// call to the token endpoint (with its retries) and the store write.
	DefaultRefreshTimeout = 20 * time.Second
	// DefaultCooldown is the wait before the next call to the token
	// endpoint after a failed refresh; it doubles with every further
	// failure, up to DefaultMaxCooldown.
	DefaultCooldown = 30 * time.Second
	// DefaultMaxCooldown caps the cooldown.
	DefaultMaxCooldown = 15 * time.Minute
	// DefaultIdleTimeout is how long a token source may go unused before
	// its Tokens forgets it.
	DefaultIdleTimeout = time.Hour
)

// ErrClosed is returned by a token source that would have to start a refresh
// after [Tokens.Close].
var ErrClosed = errors.New("oauth: token sources are closed")

// TokensConfig configures [NewTokens]. Store, Sealer and Resolver are required;
// the zero value of every other field works.
type TokensConfig struct {
	// Store holds connections, refresh leases and connection logs. Every
	// host process that refreshes the same connections must share it.
	Store store.Store
	// Sealer opens and seals token sets.
	Sealer store.Sealer
	// Resolver resolves a connection's type and effective values (client
	// id and secret, token URL) when a refresh needs them. The origin check
	// (see [FlowConfig]) relies on the Sources of its resolutions.
	Resolver Resolver
	// HTTPClient calls token and revocation endpoints. Nil means
	// NewHTTPClient with this config's Logger and AllowPrivateNetworks. A
	// client given here is used as is: give it the behaviour of
	// [NewHTTPClient] (no redirects, retries of 5xx and 429 honouring
	// Retry-After, timeouts).
	HTTPClient *http.Client
	// AllowPrivateNetworks lets the default HTTP client reach loopback and
	// private addresses, and token URLs use http there, as
	// [FlowConfig.AllowPrivateNetworks] does for CONNECT: set both alike,
	// or connections made through the flow cannot be refreshed. A
	// multi-tenant host must leave it off: token URLs may be
	// tenant-supplied.
	AllowPrivateNetworks bool
	// Logger receives records of refreshes and failures (never a secret);
	// nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Owner identifies this process as the holder of refresh leases; empty
	// means a random id. Every Tokens sharing a store must have its own.
	Owner string
	// LeaseTTL is how long a refresh lease lasts; zero means
	// DefaultLeaseTTL. It must exceed RefreshTimeout.
	LeaseTTL time.Duration
	// RefreshTimeout bounds one refresh; zero means DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	// Cooldown and MaxCooldown shape the wait after failed refreshes; zero
	// means DefaultCooldown and DefaultMaxCooldown.
	Cooldown, MaxCooldown time.Duration
	// IdleTimeout is how long the token source of a connection may go
	// unused (no Token, Invalidate, Observe or Source call) before this
	// process forgets it, with its cached access token: using the
	// connection again then costs one store read. A source is forgotten
	// between one and two IdleTimeouts after its last use, never while it
	// refreshes, holds an unwritten token set or cools down after a
	// failure. Zero means DefaultIdleTimeout; a negative value keeps every
	// source for the life of the Tokens.
	IdleTimeout time.Duration
	// Events, if set, is told of refreshes, failures, recoveries and lost
	// grants (see [Event]). It must not block: events are handed to it in
	// order by one goroutine of the Tokens, after the refresh they tell of
	// has ended, through a queue of 1024 events; while the hook is slower
	// than the events come, further events are dropped (and logged). A
	// blocked hook never holds up a refresh, but [Tokens.Close] waits for
	// the queued events to be delivered (or for its ctx).
	Events func(Event)
	// Jitter returns a random duration in [0, max); nil means a uniform
	// random one. Tests set it to make schedules deterministic.
	Jitter func(max time.Duration) time.Duration
	// Issuer is [FlowConfig.Issuer], for refreshes and client credentials
	// renewals: the token and revocation URLs a connection does not set
	// itself are filled from its authorization server's metadata exactly
	// as CONNECT fills them (and checked and pinned alike). Give it, with
	// Metadata and MetadataTTL, the Flow's values: without them a
	// connection whose token URL only the metadata names can be connected
	// but never refreshed (ErrMisconfigured). When the metadata cannot be
	// had, a refresh fails as a provider outage does (see [ErrMetadata]).
	Issuer func(res *template.Resolution) string
	// Metadata is [FlowConfig.Metadata]: metadata known in advance, keyed
	// by issuer identifier, never discovered. Each document's Issuer must
	// equal its key.
	Metadata map[string]*Metadata
	// MetadataTTL is [FlowConfig.MetadataTTL]: how long discovered
	// metadata is reused; zero means [DefaultMetadataTTL]. A Tokens keeps
	// a cache of its own.
	MetadataTTL time.Duration
}

// Tokens holds the token sources of one host process: one [TokenSource] per
// connection, each caching its access token in memory. Create one per process
// with [NewTokens] and [Tokens.Close] it at shutdown.
//
// Every process sharing a store may have its own Tokens: refreshes are
// coordinated through the store's leases, so that one connection is
// refreshed by one process at a time and a rotated refresh token is never
// used twice.
//
// A Tokens keeps one source, with its cached access token (a few hundred
// bytes), for every connection in use in this process; a source unused for
// the IdleTimeout is dropped again (see [TokensConfig.IdleTimeout]), and the
// sources its [Refresher] makes for background refreshes are dropped as soon
// as they are idle.
type Tokens struct {
	store        store.Store
	sealer       store.Sealer
	resolver     Resolver
	client       *http.Client
	allowPrivate bool
	discovery    *discovery
	logger       *slog.Logger
	journal      journal
	now          func() time.Time
	owner        string
	leaseTTL     time.Duration
	timeout      time.Duration
	cooldown     time.Duration
	maxCooldown  time.Duration
	idleTimeout  time.Duration
	events       func(Event)
	evq          eventQueue
	jitter       func(time.Duration) time.Duration
	refresher    atomic.Pointer[Refresher]
	stop         chan struct{} // closed by Close

	// Background goroutines (refreshes, write retries, sweeps): counted so
	// that Close can wait for them without a goroutine of its own.
	bg        sync.Mutex // a leaf lock: nothing is locked while holding it
	closed    bool
	active    int
	idle      chan struct{} // closed once closed and active == 0
	closeOnce sync.Once
	idleOnce  sync.Once

	mu        sync.RWMutex // guards the maps and nextSweep; taken before any TokenSource.mu
	byRef     map[connection.Ref]*TokenSource
	byID      map[string]*TokenSource
	nextSweep time.Time
}

// NewTokens checks cfg and returns the token sources of one process. A
// configuration it refuses gives an error matching [ErrConfig].
func NewTokens(cfg TokensConfig) (*Tokens, error) {
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
	if len(missing) > 0 {
		return nil, fmt.Errorf("oauth: TokensConfig needs %s: %w", strings.Join(missing, ", "), ErrConfig)
	}
	t := &Tokens{
		store:        cfg.Store,
		sealer:       cfg.Sealer,
		resolver:     cfg.Resolver,
		client:       cfg.HTTPClient,
		allowPrivate: cfg.AllowPrivateNetworks,
		logger:       cfg.Logger,
		now:          cfg.Now,
		owner:        cfg.Owner,
		leaseTTL:     cfg.LeaseTTL,
		timeout:      cfg.RefreshTimeout,
		cooldown:     cfg.Cooldown,
		maxCooldown:  cfg.MaxCooldown,
		idleTimeout:  cfg.IdleTimeout,
		events:       cfg.Events,
		jitter:       cfg.Jitter,
		stop:         make(chan struct{}),
		idle:         make(chan struct{}),
		byRef:        make(map[connection.Ref]*TokenSource),
		byID:         make(map[string]*TokenSource),
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.client == nil {
		t.client = NewHTTPClient(HTTPClientConfig{Logger: cfg.Logger, AllowPrivateNetworks: cfg.AllowPrivateNetworks})
	}
	d, err := newDiscovery("TokensConfig", cfg.Issuer, cfg.Metadata, cfg.MetadataTTL, t.client, t.now)
	if err != nil {
		return nil, err
	}
	t.discovery = d
	if t.owner == "" {
		t.owner = "connkit-" + rand.Text()
	}
	if t.leaseTTL <= 0 {
		t.leaseTTL = DefaultLeaseTTL
	}
	if t.timeout <= 0 {
		t.timeout = min(DefaultRefreshTimeout, t.leaseTTL*2/3)
	}
	if t.timeout >= t.leaseTTL {
		return nil, fmt.Errorf("oauth: TokensConfig.RefreshTimeout (%v) must be shorter than LeaseTTL (%v): %w", t.timeout, t.leaseTTL, ErrConfig)
	}
	if t.cooldown <= 0 {
		t.cooldown = DefaultCooldown
	}
	if t.maxCooldown <= 0 {
		t.maxCooldown = max(DefaultMaxCooldown, t.cooldown)
	}
	t.maxCooldown = max(t.maxCooldown, t.cooldown)
	if t.idleTimeout == 0 {
		t.idleTimeout = DefaultIdleTimeout
	}
	if t.jitter == nil {
		t.jitter = randomJitter
	}
	t.journal = newJournal(cfg.Store, t.logger, t.now)
	t.evq.init(t.events)
	return t, nil
}

// Source returns the token source of the connection at ref. It is cached:
// every call for one ref returns the same *TokenSource (until the source
// has gone unused for the IdleTimeout), and the call is cheap enough to make
// per request.
func (t *Tokens) Source(ref connection.Ref) *TokenSource {
	t.mu.RLock()
	s := t.byRef[ref]
	handedOut := s != nil && !s.transient
	t.mu.RUnlock()
	if handedOut {
		s.touch()
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s = t.byRef[ref]; s == nil {
		s = &TokenSource{t: t, ref: ref}
		t.byRef[ref] = s
		t.sweepIfDueLocked()
	}
	s.transient = false
	s.touch()
	return s
}

// Close stops the background work of every token source: each token set whose
// store write is still being retried gets one last attempt, and Close waits
// for refreshes in progress to finish (each is bounded by RefreshTimeout) and
// for the events they emitted to be delivered to the Events hook, or for ctx
// to be done. Close the Tokens after the last use of its sources and of its
// [Refresher]; a source that would have to refresh afterwards fails with
// ErrClosed. Calling Close again waits again.
//
// A token set still unwritten when Close returns is lost; its refresh token
// may have been the only valid one, so the customer may have to reconnect.
// Such a loss is logged at error level.
func (t *Tokens) Close(ctx context.Context) error {
	t.closeOnce.Do(func() {
		t.bg.Lock()
		t.closed = true
		idle := t.active == 0
		t.bg.Unlock()
		close(t.stop)
		if idle {
			t.ended()
		}
	})
	select {
	case <-t.idle:
	case <-ctx.Done():
		return fmt.Errorf("oauth: close token sources: %w", ctx.Err())
	}
	select {
	case <-t.evq.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("oauth: close token sources: waiting for the Events hook: %w", ctx.Err())
	}
}

// goAdd counts a background goroutine, unless the Tokens is closed; the
// goroutine calls goDone when it ends.
func (t *Tokens) goAdd() bool {
	t.bg.Lock()
	defer t.bg.Unlock()
	if t.closed {
		return false
	}
	t.active++
	return true
}

// goDone ends a goroutine counted by goAdd.
func (t *Tokens) goDone() {
	t.bg.Lock()
	t.active--
	last := t.closed && t.active == 0
	t.bg.Unlock()
	if last {
		t.ended()
	}
}

// ended runs once the Tokens is closed and its last goroutine has ended:
// nothing emits events any more.
func (t *Tokens) ended() {
	t.idleOnce.Do(func() {
		close(t.idle)
		t.evq.close()
	})
}

// bind records that s is the source of connection id.
func (t *Tokens) bind(id string, s *TokenSource) {
	if id == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byRef[s.ref] != s {
		return // forgotten meanwhile (idle)
	}
	if t.byID[id] != s {
		t.byID[id] = s
	}
}

// sourceOf returns the source bound to connection id, or nil.
func (t *Tokens) sourceOf(id string) *TokenSource {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byID[id]
}

// reset drops what this process remembers of connection id (its cached
// token and failure cooldown), so that the next use reads the store: the
// CONNECT callback or DISCONNECT changed the stored token set.
func (t *Tokens) reset(id string) {
	if s := t.sourceOf(id); s != nil {
		s.reset()
	}
}

// sweepIfDueLocked starts a sweep of idle sources when one is due; t.mu is
// held for writing. Sweeps are started only when a new source is made, at
// most once per IdleTimeout: the number of sources grows only then, so
// this bounds it by the connections used within about two IdleTimeouts.
func (t *Tokens) sweepIfDueLocked() {
	if t.idleTimeout <= 0 {
		return
	}
	now := t.now()
	if now.Before(t.nextSweep) {
		return
	}
	t.nextSweep = now.Add(t.idleTimeout)
	if !t.goAdd() {
		return
	}
	go func() {
		defer t.goDone()
		t.sweep()
	}()
}

// sweep forgets every source not used since the previous sweep (second
// chance: a source used since then only loses its mark). Sources are
// checked under the read lock and forgotten one by one under the write
// lock, so Source calls are never held up for long.
func (t *Tokens) sweep() {
	var idle []*TokenSource
	t.mu.RLock()
	for _, s := range t.byRef {
		if !s.used.Swap(false) {
			idle = append(idle, s)
		}
	}
	t.mu.RUnlock()
	for _, s := range idle {
		t.forget(s, false)
	}
}

// forget drops s from the maps if it is idle: no refresh, no unwritten set,
// no lease, no cooldown, and (unless transientOnly) not used since the
// sweep looked, or (transientOnly) never handed out by Source. A caller
// still holding s finds its cache empty and is sent to the ref's current
// source (see TokenSource.get).
func (t *Tokens) forget(s *TokenSource, transientOnly bool) {
	if transientOnly {
		t.mu.RLock()
		transient := s.transient
		t.mu.RUnlock()
		if !transient {
			return
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byRef[s.ref] != s || (transientOnly && !s.transient) || (!transientOnly && s.used.Load()) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flight != nil || s.pending != nil || s.writer || s.lease || s.releasing != nil || t.now().Before(s.until) {
		return
	}
	s.evicted = true
	s.cur.Store(nil)
	delete(t.byRef, s.ref)
	if s.id != "" && t.byID[s.id] == s {
		delete(t.byID, s.id)
	}
}
