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

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
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
	// id and secret, token URL) when a refresh needs them.
	Resolver Resolver
	// HTTPClient calls token endpoints. Nil means NewHTTPClient with this
	// config's Logger. A client given here is used as is: give it the
	// behaviour of [NewHTTPClient] (no redirects, retries of 5xx and 429
	// honouring Retry-After, timeouts).
	HTTPClient *http.Client
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
	// Events, if set, is told of refreshes, failures, recoveries and lost
	// grants. It is called synchronously from the goroutine that refreshed,
	// after the waiting callers have their token: it must not block for
	// long.
	Events func(Event)
	// Jitter returns a random duration in [0, max); nil means a uniform
	// random one. Tests set it to make schedules deterministic.
	Jitter func(max time.Duration) time.Duration
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
// A Tokens keeps one source, with its cached access token, for every
// connection [Tokens.Source] was asked for in this process (a few hundred
// bytes each); the sources its [Refresher] makes for background refreshes
// are dropped again once idle.
type Tokens struct {
	store       store.Store
	sealer      store.Sealer
	resolver    Resolver
	client      *http.Client
	logger      *slog.Logger
	journal     journal
	now         func() time.Time
	owner       string
	leaseTTL    time.Duration
	timeout     time.Duration
	cooldown    time.Duration
	maxCooldown time.Duration
	events      func(Event)
	jitter      func(time.Duration) time.Duration
	refresher   atomic.Pointer[Refresher]
	stop        chan struct{} // closed by Close
	wg          sync.WaitGroup
	mu          sync.RWMutex
	closed      bool
	byRef       map[connection.Ref]*TokenSource
	byID        map[string]*TokenSource
	closeOnce   sync.Once
}

// NewTokens checks cfg and returns the token sources of one process.
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
		return nil, fmt.Errorf("oauth: TokensConfig needs %s", strings.Join(missing, ", "))
	}
	t := &Tokens{
		store:       cfg.Store,
		sealer:      cfg.Sealer,
		resolver:    cfg.Resolver,
		client:      cfg.HTTPClient,
		logger:      cfg.Logger,
		now:         cfg.Now,
		owner:       cfg.Owner,
		leaseTTL:    cfg.LeaseTTL,
		timeout:     cfg.RefreshTimeout,
		cooldown:    cfg.Cooldown,
		maxCooldown: cfg.MaxCooldown,
		events:      cfg.Events,
		jitter:      cfg.Jitter,
		stop:        make(chan struct{}),
		byRef:       make(map[connection.Ref]*TokenSource),
		byID:        make(map[string]*TokenSource),
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.client == nil {
		t.client = NewHTTPClient(HTTPClientConfig{Logger: cfg.Logger})
	}
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
		return nil, fmt.Errorf("oauth: TokensConfig.RefreshTimeout (%v) must be shorter than LeaseTTL (%v)", t.timeout, t.leaseTTL)
	}
	if t.cooldown <= 0 {
		t.cooldown = DefaultCooldown
	}
	if t.maxCooldown <= 0 {
		t.maxCooldown = max(DefaultMaxCooldown, t.cooldown)
	}
	t.maxCooldown = max(t.maxCooldown, t.cooldown)
	if t.jitter == nil {
		t.jitter = randomJitter
	}
	t.journal = newJournal(cfg.Store, t.logger, t.now)
	return t, nil
}

// Source returns the token source of the connection at ref. It is cached:
// every call for one ref returns the same *TokenSource, and the call is cheap
// enough to make per request.
func (t *Tokens) Source(ref connection.Ref) *TokenSource {
	t.mu.RLock()
	s := t.byRef[ref]
	handedOut := s != nil && !s.transient
	t.mu.RUnlock()
	if handedOut {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s = t.byRef[ref]; s == nil {
		s = &TokenSource{t: t, ref: ref}
		t.byRef[ref] = s
	}
	s.transient = false
	return s
}

// Close stops the background work of every token source: each token set whose
// store write is still being retried gets one last attempt, and Close waits
// for refreshes in progress to finish (each is bounded by RefreshTimeout) or
// for ctx to be done. Close the Tokens after the last use of its sources and
// of its [Refresher]; a source that would have to refresh afterwards fails
// with ErrClosed. Calling Close again waits again.
//
// A token set still unwritten when Close returns is lost; its refresh token
// may have been the only valid one, so the customer may have to reconnect.
// Such a loss is logged at error level.
func (t *Tokens) Close(ctx context.Context) error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		close(t.stop)
	})
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("oauth: close token sources: %w", ctx.Err())
	}
}

// goAdd counts a background goroutine, unless the Tokens is closed.
func (t *Tokens) goAdd() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

// bind records that s is the source of connection id.
func (t *Tokens) bind(id string, s *TokenSource) {
	if id == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
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

// TokenSource gives out one connection's access token, refreshing it through
// the cross-process protocol of this package when needed. Get one from
// [Tokens.Source]. It is safe for concurrent use.
//
// The returned *Token is shared by every caller until the next refresh and
// must not be modified. It carries no refresh token: refreshing is the
// source's job, and a second party refreshing on its own would break
// rotation.
type TokenSource struct {
	t   *Tokens
	ref connection.Ref
	// transient: made by the refresher and not handed out by Source, so
	// it may be dropped when idle (guarded by t.mu).
	transient bool
	// cur is the cached token: the fast path's only state.
	cur atomic.Pointer[cachedToken]

	mu      sync.Mutex
	id      string      // connection id, once known
	flight  *flight     // the refresh in progress, if any
	pending *pendingSet // a new token set whose store write is being retried
	writer  bool        // the pending write retry loop runs
	lease   bool        // this process holds the connection's refresh lease
	fails   int         // consecutive failed calls to the provider
	until   time.Time   // no call to the provider before this (cooldown)
	lastErr error       // the last failure, returned during the cooldown
	failing bool        // the last refresh failed: the next success recovers
	gen     uint64      // incremented by reset: results of older runs are not cached
}

// cachedToken is an access token as the fast path serves it.
type cachedToken struct {
	tok *Token // given to callers: no refresh token
	// refreshAt is when a refresh is due: before expiry by the type's
	// leeway and some jitter, or earlier (the end of a cooldown).
	refreshAt time.Time
	// envelope is the sealed form the token came from (as stored, or as it
	// waits to be stored); nil for a token never meant for the store.
	envelope []byte
	// refreshable: the set has a refresh token (kept out of tok).
	refreshable bool
	o2          *oauth2.Token
}

func newCached(tok Token, refreshAt time.Time, envelope []byte) *cachedToken {
	refreshable := !tok.RefreshToken.IsZero()
	tok.RefreshToken = connection.Secret{}
	return &cachedToken{
		tok:         &tok,
		refreshAt:   refreshAt,
		envelope:    envelope,
		refreshable: refreshable && envelope != nil,
		o2: &oauth2.Token{
			AccessToken: tok.AccessToken.Reveal(),
			TokenType:   tok.TokenType,
			Expiry:      tok.Expiry,
		},
	}
}

// valid reports whether the cached access token has not expired at now.
func (c *cachedToken) valid(now time.Time) bool { return c != nil && now.Before(c.tok.Expiry) }

// is reports whether the cached access token is the given one.
func (c *cachedToken) is(access connection.Secret) bool {
	return c != nil && !access.IsZero() && c.tok.AccessToken.Equal(access)
}

// flight is one refresh in progress, shared by every caller that needs it.
type flight struct {
	done chan struct{}
	// ended is closed when the flight has finished its aftermath (events,
	// lease release) and is no longer s.flight.
	ended    chan struct{}
	rejected connection.Secret // the access token a 401 rejected, if any
	// keepAlive, when positive, refreshes a token obtained longer ago.
	keepAlive time.Duration
	gen       uint64 // the source's generation when the flight started
	// Set before done is closed.
	tok *Token
	err error
}

// Ref returns the connection's address.
func (s *TokenSource) Ref() connection.Ref { return s.ref }

// Token returns a valid access token for the connection.
//
// The fast path (a cached token not yet due for refresh) touches no lock, no
// store and allocates nothing. Near expiry (by the type's leeway, with
// jitter) one refresh starts in the background while callers keep getting the
// still valid token; once it has expired, callers wait for the refresh.
// Concurrent callers share one refresh, which runs on its own context and
// timeout; each caller waits only as long as its own ctx allows, and a caller
// giving up does not affect the others.
//
// Errors: ErrNotConnected when the connection holds no token set; a
// *TokenError matching ErrReconnect when the provider refused the refresh
// token (the customer must reconnect) or ErrMisconfigured when it refused the
// client; a *TokenError that is Temporary when the provider is unavailable
// (further calls within the cooldown return it at once); ctx's error.
func (s *TokenSource) Token(ctx context.Context) (*Token, error) {
	if e := s.cur.Load(); e != nil && s.t.now().Before(e.refreshAt) {
		return e.tok, nil
	}
	return s.get(ctx, connection.Secret{})
}

// Invalidate reports that an API rejected the access token rejected (HTTP
// 401) and returns a token to retry with. The source first looks again: if
// its token or the stored one is already another, valid token (this or
// another process refreshed), that is returned without calling the provider;
// only when the stored token is the rejected one is it refreshed. Concurrent
// calls for the same rejected token share one refresh. An empty rejected
// behaves like Token.
func (s *TokenSource) Invalidate(ctx context.Context, rejected connection.Secret) (*Token, error) {
	return s.get(ctx, rejected)
}

// OAuth2 returns the source as an oauth2.TokenSource for code written for
// golang.org/x/oauth2 (such as oauth2.NewClient). Its Token method has no
// context parameter, so it waits for a refresh with context.Background: bound
// the wait with the *http.Client's own timeout. The tokens it returns carry no
// refresh token and are shared: do not modify them.
func (s *TokenSource) OAuth2() oauth2.TokenSource { return oauth2Source{s} }

type oauth2Source struct{ s *TokenSource }

func (o oauth2Source) Token() (*oauth2.Token, error) {
	s := o.s
	if e := s.cur.Load(); e != nil && s.t.now().Before(e.refreshAt) {
		return e.o2, nil
	}
	tok, err := s.get(context.Background(), connection.Secret{})
	if err != nil {
		return nil, err
	}
	if e := s.cur.Load(); e != nil && e.tok == tok {
		return e.o2, nil
	}
	return &oauth2.Token{AccessToken: tok.AccessToken.Reveal(), TokenType: tok.TokenType, Expiry: tok.Expiry}, nil
}

// get is the slow path of Token and Invalidate.
func (s *TokenSource) get(ctx context.Context, rejected connection.Secret) (*Token, error) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		now := s.t.now()
		e := s.cur.Load()
		switch {
		case rejected.IsZero() && e != nil && now.Before(e.refreshAt):
			s.mu.Unlock()
			return e.tok, nil
		case !rejected.IsZero() && e.valid(now) && !e.is(rejected):
			// Already replaced since the caller got the rejected one.
			s.mu.Unlock()
			return e.tok, nil
		case now.Before(s.until):
			// Cooling down after a failure: a still valid token is served,
			// otherwise the failure, without calling anyone.
			err := s.lastErr
			if rejected.IsZero() && e.valid(now) {
				s.mu.Unlock()
				return e.tok, nil
			}
			s.mu.Unlock()
			return nil, err
		}
		f := s.flight
		if f != nil && f.gen != s.gen {
			// A refresh from before CONNECT or DISCONNECT replaced the
			// stored token set is still finishing: its result is stale.
			// Wait for it to end, then look again.
			s.mu.Unlock()
			select {
			case <-f.ended:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		if f == nil {
			var err error
			if f, err = s.startLocked(ctx, rejected, 0); err != nil {
				s.mu.Unlock()
				return nil, err
			}
		}
		if rejected.IsZero() && e.valid(now) {
			// Refresh ahead: the token still works while the refresh runs.
			s.mu.Unlock()
			return e.tok, nil
		}
		s.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			return nil, f.err
		}
		if !rejected.IsZero() && f.tok.AccessToken.Equal(rejected) && f.rejected.IsZero() && attempt == 0 {
			// Joined a refresh that did not know of the 401: look again.
			continue
		}
		return f.tok, nil
	}
}

// startLocked starts a refresh; s.mu is held.
func (s *TokenSource) startLocked(ctx context.Context, rejected connection.Secret, keepAlive time.Duration) (*flight, error) {
	if !s.t.goAdd() {
		return nil, ErrClosed
	}
	f := &flight{done: make(chan struct{}), ended: make(chan struct{}), rejected: rejected, keepAlive: keepAlive, gen: s.gen}
	s.flight = f
	base := s.cur.Load()
	// The refresh outlives the caller that started it: it keeps ctx's
	// values but not its cancellation, and has its own timeout.
	fctx := context.WithoutCancel(ctx)
	go func() {
		defer s.t.wg.Done()
		s.fly(fctx, f, base)
	}()
	return f, nil
}

// fly runs one refresh and hands its result to the waiting callers.
func (s *TokenSource) fly(ctx context.Context, f *flight, base *cachedToken) {
	ctx, cancel := context.WithTimeout(ctx, s.t.timeout)
	r := &run{s: s, t: s.t, ctx: ctx, rejected: f.rejected, keepAlive: f.keepAlive, base: base}
	o := r.refresh()
	cancel()

	s.mu.Lock()
	now := s.t.now()
	switch {
	case s.gen != f.gen:
		// The stored token set changed under the run (CONNECT or
		// DISCONNECT): its waiters get its result, the cache stays empty.
		f.tok, f.err = nil, o.err
		if o.err == nil {
			f.tok = o.cached.tok
		}
	case o.err == nil:
		s.cur.Store(o.cached)
		s.fails, s.until, s.lastErr, s.failing = 0, time.Time{}, nil, false
		f.tok = o.cached.tok
	default:
		f.err = o.err
		if o.cooldown {
			s.fails++
			s.lastErr = o.err
			s.failing = true
			switch {
			case o.terminal:
				s.until = now.Add(s.t.cooldown)
			case errors.Is(o.err, ErrMisconfigured):
				s.until = now.Add(s.t.maxCooldown)
			default:
				s.until = now.Add(s.t.cooldownFor(s.fails, o.retryAfter))
			}
		}
		switch {
		case o.cached != nil && o.cached.valid(now):
			// Keep serving the token that still works, on the fast path
			// until the cooldown ends.
			c := *o.cached
			if s.until.After(now) {
				c.refreshAt = minTime(c.refreshAt, s.until)
			}
			s.cur.Store(&c)
		case o.drop:
			s.cur.Store(nil)
		}
	}
	s.mu.Unlock()
	close(f.done)

	// Events and logs after the callers have their token.
	for _, p := range o.post {
		p()
	}
	// The lease is released before the flight ends, so that no other
	// refresh of this process can take it in between; it is kept while a
	// write of a new token set is pending.
	s.mu.Lock()
	release := s.lease && s.pending == nil
	if release {
		s.lease = false
	}
	s.mu.Unlock()
	if release {
		r.releaseLease()
	}
	s.mu.Lock()
	s.flight = nil
	s.mu.Unlock()
	close(f.ended)
}

// reset forgets the cached token and any cooldown.
func (s *TokenSource) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Store(nil)
	s.fails, s.until, s.lastErr, s.failing = 0, time.Time{}, nil, false
	s.gen++
}

// scheduled is the refresher's call: refresh the connection if it is due (or
// its token older than keepAlive, when positive) and return when it is due
// next; keep is false when it should no longer be scheduled.
func (s *TokenSource) scheduled(ctx context.Context, keepAlive time.Duration) (next time.Time, keep bool) {
	now := s.t.now()
	s.mu.Lock()
	e := s.cur.Load()
	switch {
	case now.Before(s.until):
		until, err := s.until, s.lastErr
		s.mu.Unlock()
		return until, !isTerminal(err)
	case e != nil && e.refreshable && now.Before(s.t.nextDue(e, keepAlive)):
		s.mu.Unlock()
		return s.t.nextDue(e, keepAlive), true
	}
	f := s.flight
	if f == nil {
		var err error
		if f, err = s.startLocked(ctx, connection.Secret{}, keepAlive); err != nil {
			s.mu.Unlock()
			return now, true // closed: keep it for the next run
		}
	}
	s.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return now, true
	}
	err := f.err
	s.mu.Lock()
	e, until := s.cur.Load(), s.until
	s.mu.Unlock()
	switch {
	case err == nil && e != nil && e.refreshable:
		return s.t.nextDue(e, keepAlive), true
	case err == nil:
		return time.Time{}, false // nothing to refresh: no refresh token
	case isTerminal(err), errors.Is(err, ErrNotConnected), errors.Is(err, connection.ErrBadRef):
		return time.Time{}, false
	case until.After(now):
		return until, true
	default:
		return now.Add(s.t.cooldown), true
	}
}

// nextDue is when the refresher should look at a cached token again.
func (t *Tokens) nextDue(e *cachedToken, keepAlive time.Duration) time.Time {
	next := e.refreshAt
	if keepAlive > 0 && !e.tok.ObtainedAt.IsZero() {
		next = minTime(next, e.tok.ObtainedAt.Add(keepAlive))
	}
	return next
}

// isTerminal reports whether err means only a new CONNECT helps.
func isTerminal(err error) bool { return err != nil && errors.Is(err, ErrReconnect) }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
