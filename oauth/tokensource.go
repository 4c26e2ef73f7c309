package oauth

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

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
	// used is set by every use and cleared by the Tokens' idle sweeps.
	used atomic.Bool

	mu      sync.Mutex
	id      string      // connection id, once known
	flight  *flight     // the refresh in progress, if any
	pending *pendingSet // a new token set whose store write is being retried
	writer  bool        // the pending write retry loop runs
	lease   bool        // this process holds the connection's refresh lease
	// releasing, when set, is closed once the release of this process's
	// lease by an ended refresh is done; until then no refresh of this
	// process takes the lease (it would be released under it).
	releasing chan struct{}
	fails     int       // consecutive failed calls to the provider
	until     time.Time // no call to the provider before this (cooldown)
	lastErr   error     // the last failure, returned during the cooldown
	failing   bool      // the last refresh failed: the next success recovers
	gen       uint64    // incremented by reset: results of older runs are not cached
	evicted   bool      // forgotten by the Tokens (idle): calls go to the ref's current source
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

// isSet reports whether the cached token comes from the token set tok (by
// its access token, expiry and time obtained: the cache keeps no refresh
// token). A set sealed again under another key is the same set.
func (c *cachedToken) isSet(tok *Token) bool {
	return c.tok.AccessToken.Equal(tok.AccessToken) && c.tok.Expiry.Equal(tok.Expiry) &&
		c.tok.ObtainedAt.Equal(tok.ObtainedAt) && c.tok.TokenType == tok.TokenType
}

// flight is one refresh in progress, shared by every caller that needs it.
// It is s.flight from its start until its result is published, when done is
// closed; what follows (logs, events, the lease release) runs afterwards,
// so that nothing a host's hook or a slow store does holds up the next
// refresh.
type flight struct {
	done     chan struct{}
	rejected connection.Secret // the access token a 401 rejected, if any
	// keepAlive, when positive, refreshes a token obtained longer ago.
	keepAlive time.Duration
	gen       uint64 // the source's generation when the flight started
	// Set before done is closed.
	tok    *Token
	cached *cachedToken // the token the refresh leaves to serve, if any
	err    error
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
// client; an error matching ErrMisconfigured that is no *TokenError when
// connkit refused the connection's configuration itself and sent nothing
// (see ErrMisconfigured; the status reason then starts with "refresh
// failed: configuration refused locally"), among them an
// [*EndpointChangedError] when the connection's token URL changed since
// CONNECT: a refresh (or client credentials renewal) goes only to the token
// URL the token set was obtained at; a *TokenError that is Temporary when the provider is
// unavailable (further calls within the cooldown return it at once); ctx's
// error.
func (s *TokenSource) Token(ctx context.Context) (*Token, error) {
	s.touch()
	if e := s.cur.Load(); e != nil && s.t.now().Before(e.refreshAt) {
		return e.tok, nil
	}
	return s.get(ctx, connection.Secret{})
}

// touch marks the source used, for the idle sweeps; a store only when the
// mark was cleared, so that the fast path writes no shared memory.
func (s *TokenSource) touch() {
	if !s.used.Load() {
		s.used.Store(true)
	}
}

// Invalidate reports that an API rejected the access token rejected (HTTP
// 401) and returns a token to retry with. The source first looks again: if
// its token or the stored one is already another, valid token (this or
// another process refreshed), that is returned without calling the provider;
// only when the stored token is the rejected one is it refreshed. Concurrent
// calls for the same rejected token share one refresh. An empty rejected
// behaves like Token.
func (s *TokenSource) Invalidate(ctx context.Context, rejected connection.Secret) (*Token, error) {
	s.touch()
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
	s.touch()
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

// Observe tells the source which token set the store holds for its
// connection, as the host read it anyway: st is the connection record's
// Token, nil when the record has no token set (or there is no record).
// connkit's Host calls it with the record it reads before every step, so
// that a DISCONNECT or a new CONNECT made through another process takes
// effect in this one at once, instead of when the cached access token comes
// due: when st is nil or another token set than the cached one, the source
// forgets its cached token (and any failure cooldown) and the next call
// reads the store. It costs no store round trip; st being the cached set is
// a byte comparison, and a set only sealed again under another key
// (store.Rewrap) is recognised as the same set, once, by opening it.
//
// A record read before a refresh of this process stored a newer set makes
// the source read the store once more; a token set of this process still
// waiting to be written (the store refused it) is kept. Observe never
// calls the provider.
func (s *TokenSource) Observe(st *store.Token) {
	s.touch()
	e := s.cur.Load()
	if e == nil || e.envelope == nil {
		// Nothing cached, or a token that never came from the store (a
		// client credentials token kept in memory only).
		return
	}
	if st != nil && bytes.Equal(st.Sealed, e.envelope) {
		return
	}
	s.mu.Lock()
	id, p := s.id, s.pending
	s.mu.Unlock()
	if st != nil && id != "" {
		if tok, err := OpenToken(s.t.sealer, id, st); err == nil {
			switch {
			case e.isSet(&tok):
				// The cached set, sealed again: remember its new
				// envelope, so the next look is a byte comparison.
				c := *e
				c.envelope = bytes.Clone(st.Sealed)
				s.cur.CompareAndSwap(e, &c)
				return
			case p != nil && p.base != nil && sameSet(&tok, &p.base.tok):
				return // the store still holds what our unwritten set replaces
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Load() == e {
		s.resetLocked()
	}
}

// get is the slow path of Token and Invalidate.
func (s *TokenSource) get(ctx context.Context, rejected connection.Secret) (*Token, error) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		if s.evicted {
			// Forgotten while idle: the ref's current source serves.
			s.mu.Unlock()
			return s.t.Source(s.ref).get(ctx, rejected)
		}
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
			case <-f.done:
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
	f := &flight{done: make(chan struct{}), rejected: rejected, keepAlive: keepAlive, gen: s.gen}
	s.flight = f
	base := s.cur.Load()
	// The refresh outlives the caller that started it: it keeps ctx's
	// values but not its cancellation, and has its own timeout.
	fctx := context.WithoutCancel(ctx)
	go func() {
		defer s.t.goDone()
		for _, p := range s.fly(fctx, f, base) {
			p()
		}
		s.t.forget(s, true) // a source only the refresher used is dropped once idle
	}()
	return f, nil
}

// fly runs one refresh, hands its result to the waiting callers and ends
// the flight; it returns what is left to do (release the lease, logs,
// events), which the caller runs afterwards.
func (s *TokenSource) fly(ctx context.Context, f *flight, base *cachedToken) (post []func()) {
	rctx, cancel := context.WithTimeout(ctx, s.t.timeout)
	r := &run{s: s, t: s.t, rejected: f.rejected, keepAlive: f.keepAlive, base: base}
	o := r.refresh(rctx)
	cancel()

	s.mu.Lock()
	now := s.t.now()
	f.cached = o.cached
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
	// The lease is kept while a write of a new token set is pending;
	// otherwise it is released right after the flight, and until then
	// no refresh of this process takes it (see waitRelease).
	var released chan struct{}
	if s.lease && s.pending == nil {
		s.lease = false
		released = make(chan struct{})
		s.releasing = released
	}
	s.flight = nil
	close(f.done)
	s.mu.Unlock()

	if released != nil {
		post = append(post, func() {
			r.releaseLease(ctx)
			s.mu.Lock()
			if s.releasing == released {
				s.releasing = nil
			}
			s.mu.Unlock()
			close(released)
		})
	}
	return append(post, o.post...)
}

// waitRelease waits until no release of this process's lease is under way.
func (s *TokenSource) waitRelease(ctx context.Context) error {
	s.mu.Lock()
	ch := s.releasing
	s.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reset forgets the cached token and any cooldown.
func (s *TokenSource) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *TokenSource) resetLocked() {
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
	if s.evicted {
		// Forgotten meanwhile: refresh through the ref's current source.
		id := s.id
		s.mu.Unlock()
		return s.t.transientSource(s.ref, id).scheduled(ctx, keepAlive)
	}
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
	err, e := f.err, f.cached
	s.mu.Lock()
	until := s.until
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
