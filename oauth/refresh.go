package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// The refresh protocol. One refresh of one connection ("a run") goes:
//
//  1. resolve the connection (type settings, client credentials, id);
//  2. read the stored token set; if it is fresh (and not the access token a
//     401 rejected) use it: another process refreshed already;
//  3. take the connection's lease in the store, waiting (and re-reading,
//     see 2) while another process holds it, up to the refresh timeout;
//  4. read the stored token set again, now under the lease: it may have
//     changed while we waited;
//  5. call the token endpoint with the refresh token;
//  6. seal the new set and write it with compare-and-swap on the record's
//     revision; on a conflict re-read and merge, but never overwrite a token
//     set other than the one refreshed (a new CONNECT wins);
//  7. only then hand the new access token to callers, and release the lease.
//
// If the write in 6 fails, the new set is kept in memory ("pending"), given
// to callers, used for any further refresh (the old refresh token is never
// used again) and written by a retry loop with backoff; the lease is held
// (extended on every attempt) until it is written, so no other process
// refreshes with the stale refresh token still in the store.

// refreshFailedPrefix starts every status reason this file sets, so that a
// later success knows the red status was a refresh failure and clears it.
const refreshFailedPrefix = "refresh failed"

// mustReconnect ends the status reason of a connection whose refresh token is
// gone or refused.
const mustReconnect = ": the customer must reconnect"

// bookkeepingTimeout bounds the status writes and lease releases made after
// the refresh proper, on a context of their own.
const bookkeepingTimeout = 5 * time.Second

// maxCAS bounds the compare-and-swap retries of one write.
const maxCAS = 16

func leaseKey(connID string) string { return "refresh:" + connID }

// run is one refresh of one connection. Its methods take the run's context
// (bounded by the refresh timeout) as their first argument.
type run struct {
	s         *TokenSource
	t         *Tokens
	rejected  connection.Secret
	keepAlive time.Duration
	base      *cachedToken // the cached token when the run started

	res      *template.Resolution
	settings *connection.OAuth2
	id       string
	cc       bool      // client credentials grant
	ep       *Endpoint // built once needed (see endpoint)
	// post collects aftermath found along the way (such as revoking a set
	// that could not be kept); it runs before the result's own post.
	post []func()
}

// runResult is what a run hands back to TokenSource.fly.
type runResult struct {
	// cached is the token to serve: the new one, or on failure the one
	// that still works (nil if none).
	cached *cachedToken
	err    error
	// cooldown: a call to the provider failed; wait before the next one.
	cooldown bool
	// terminal: the provider refused the refresh token.
	terminal   bool
	retryAfter time.Duration
	// drop: forget the cached token (the connection is not connected).
	drop bool
	// post runs after the waiting callers have their result.
	post []func()
}

// candidate is a token set a run may use or refresh.
type candidate struct {
	tok Token
	// envelope is tok's sealed form: as stored, or as it waits to be.
	envelope []byte
	// base is the set in the store, which a write must replace (nil when
	// the store holds no token set).
	base *baseSet
	// pending is set when tok is this process's unwritten token set.
	pending *pendingSet
	// empty: the store holds no token set (client credentials only).
	empty     bool
	refreshAt time.Time
}

func (c *candidate) valid(now time.Time) bool {
	return c != nil && !c.empty && !c.tok.AccessToken.IsZero() && now.Before(c.tok.Expiry)
}

// refresh runs the protocol and returns its result.
func (r *run) refresh(ctx context.Context) runResult {
	o := r.protocol(ctx)
	if len(r.post) > 0 {
		o.post = append(r.post, o.post...)
	}
	return o
}

func (r *run) protocol(ctx context.Context) runResult {
	if err := r.s.ref.Validate(); err != nil {
		return runResult{err: err}
	}
	res, err := r.t.resolver.Resolve(ctx, r.s.ref)
	if err != nil {
		return runResult{err: fmt.Errorf("oauth: resolve connection %s: %w", r.s.ref, err)}
	}
	if res.Variable.Type.OAuth2 == nil {
		return runResult{err: fmt.Errorf("oauth: connection %s: type %q has no OAuth 2.0 settings: %w", r.s.ref, res.Variable.Type.Key, ErrMisconfigured)}
	}
	r.res, r.settings, r.id = res, res.Variable.Type.OAuth2, res.ConnectionID
	r.s.setID(r.id)
	if r.settings.GrantOrDefault() == connection.GrantClientCredentials {
		r.cc = true
		return r.clientCredentials(ctx)
	}
	return r.refreshGrant(ctx)
}

// endpoint returns the connection's endpoint for a token set bound to pins,
// about to send credentials to field's URL (connection.FieldTokenURL or
// FieldRevokeURL): the endpoint is built on first use from the resolved
// values, with the URLs they leave empty filled from the authorization
// server's metadata as CONNECT fills them (prepareResolved, with every check
// of endpointFor), and the URLs recorded at CONNECT are used, only while
// the values still resolve field's to the same one (see pin.go).
func (r *run) endpoint(ctx context.Context, pins endpointPins, field string) (*Endpoint, error) {
	if r.ep == nil {
		cs, err := prepareResolved(ctx, r.t.discovery, r.res, "", false, "", r.t.allowPrivate, r.t.now)
		if err != nil {
			return nil, err
		}
		r.ep = cs.endpoint
	}
	return r.ep.pinned(r.s.ref, pins, field)
}

// pins returns the URLs cand's token set is bound to (none without a set).
func (c *candidate) pins() endpointPins {
	if c == nil || c.empty {
		return endpointPins{}
	}
	return c.tok.pins
}

// refreshGrant is the protocol for connections holding a refresh token.
func (r *run) refreshGrant(ctx context.Context) runResult {
	if r.id == "" {
		return r.notConnected()
	}
	c, cand, err := r.load(ctx)
	if err != nil {
		return r.readFailed(err)
	}
	if cand.pending == nil && !r.need(cand) {
		return r.adopt(cand)
	}
	c, cand, o := r.lock(ctx, c, cand)
	if o != nil {
		return *o
	}
	if cand.pending != nil {
		if c, cand, err = r.flush(ctx, c, cand); err != nil {
			return r.readFailed(err)
		}
	}
	if !r.need(cand) {
		return r.adopt(cand)
	}
	if cand.tok.RefreshToken.IsZero() {
		return r.noRefreshToken(ctx, c, cand)
	}
	ep, err := r.endpoint(ctx, cand.pins(), connection.FieldTokenURL)
	if err != nil {
		return r.providerFailed(ctx, c, cand, err)
	}
	tok, ot, err := ep.Refresh(ctx, r.t.client, cand.tok.RefreshToken)
	if err != nil {
		return r.providerFailed(ctx, c, cand, err)
	}
	return r.save(ctx, c, cand, r.rebase(tok), ep.ExtraFields(ot))
}

// clientCredentials obtains a new token with the client credentials grant
// when the stored (or cached) one is due. Connections with a stored record
// share their token through the store under the lease, as refreshes do; a
// connection without a record keeps its token in memory only.
func (r *run) clientCredentials(ctx context.Context) runResult {
	var c *store.Connection
	var cand *candidate
	if r.id != "" {
		var err error
		c, cand, err = r.load(ctx)
		switch {
		case errors.Is(err, ErrNotConnected):
			c, cand = nil, nil // the record vanished: memory only
		case err != nil:
			return r.readFailed(err)
		case !r.need(cand):
			return r.adopt(cand)
		default:
			var o *runResult
			if c, cand, o = r.lock(ctx, c, cand); o != nil {
				return *o
			}
			if !r.need(cand) {
				return r.adopt(cand)
			}
		}
	}
	ep, err := r.endpoint(ctx, cand.pins(), connection.FieldTokenURL)
	if err != nil {
		return r.providerFailed(ctx, c, cand, err)
	}
	tok, ot, err := ep.ClientCredentials(ctx, r.t.client)
	if err != nil {
		return r.providerFailed(ctx, c, cand, err)
	}
	tok = r.rebase(tok)
	if c == nil {
		e := newCached(tok, r.t.refreshAt(tok, r.settings), nil)
		return runResult{cached: e, post: r.succeeded(ctx, tok, false, false)}
	}
	return r.save(ctx, c, cand, tok, ep.ExtraFields(ot))
}

// load reads the stored record and the candidate token set in it.
func (r *run) load(ctx context.Context) (*store.Connection, *candidate, error) {
	c, err := r.t.store.GetConnectionByID(ctx, r.id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("oauth: connection %s: %w", r.s.ref, ErrNotConnected)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: read connection %s: %w", r.s.ref, err)
	}
	cand, err := r.candidate(c)
	if err != nil {
		return nil, nil, err
	}
	return c, cand, nil
}

// candidate returns the token set to work with: this process's unwritten set
// when the store still holds the one it replaces, otherwise the stored one.
// Sets are told apart by what they hold, not by their envelopes: store.Rewrap
// may have sealed the stored set again under another key.
func (r *run) candidate(c *store.Connection) (*candidate, error) {
	var stored []byte
	if c.Token != nil {
		stored = c.Token.Sealed
	}
	found := r.stored(c.Token)
	if p := r.s.pendingSet(); p != nil {
		switch {
		case p.sealed != nil && found.is(&baseSet{env: p.sealed.Sealed, tok: p.tok}):
			r.s.clearPending(p) // written after all
		case found.is(p.base):
			envelope := []byte(nil)
			if p.sealed != nil {
				envelope = p.sealed.Sealed
			}
			return &candidate{tok: p.tok, envelope: envelope, base: &baseSet{env: stored, tok: p.base.tok}, pending: p}, nil
		default:
			// Another token set was stored (a new CONNECT, or a
			// DISCONNECT): it wins over ours.
			r.s.clearPending(p)
			r.t.logger.Warn("connkit: an unwritten refreshed token set was superseded by another one in the store",
				"connection", r.id, "ref", r.s.ref.String())
		}
	}
	if c.Token == nil {
		if r.cc {
			return &candidate{empty: true}, nil
		}
		return nil, fmt.Errorf("oauth: connection %s: %w", r.s.ref, ErrNotConnected)
	}
	tok, err := found.open()
	if err != nil {
		return nil, err
	}
	return &candidate{tok: tok, envelope: stored, base: &baseSet{env: stored, tok: tok}}, nil
}

// need reports whether cand must be refreshed now.
func (r *run) need(cand *candidate) bool {
	if cand.empty {
		return true
	}
	if cand.tok.AccessToken.IsZero() {
		return true
	}
	now := r.t.now()
	if !r.rejected.IsZero() && cand.tok.AccessToken.Equal(r.rejected) {
		return true
	}
	if r.keepAlive > 0 && !cand.tok.ObtainedAt.IsZero() && !now.Before(cand.tok.ObtainedAt.Add(r.keepAlive)) {
		return true
	}
	return !now.Before(r.refreshAt(cand))
}

// refreshAt is when cand is due. For the token this source already caches,
// the cached due time is kept, so that the jitter drawn for it stands.
func (r *run) refreshAt(cand *candidate) time.Time {
	if cand.refreshAt.IsZero() {
		if r.base != nil && r.base.isSet(&cand.tok) {
			cand.refreshAt = r.base.refreshAt
		} else {
			cand.refreshAt = r.t.refreshAt(cand.tok, r.settings)
		}
	}
	return cand.refreshAt
}

// refreshAt returns when tok is due for refresh: before its expiry by the
// type's leeway (never more than half the lifetime) and a random part of
// half the leeway more, so that replicas do not all come at once.
func (t *Tokens) refreshAt(tok Token, o *connection.OAuth2) time.Time {
	lifetime := tok.Expiry.Sub(tok.ObtainedAt)
	if tok.ObtainedAt.IsZero() || lifetime <= 0 {
		lifetime = o.LifetimeOrDefault()
	}
	leeway := min(o.Leeway(lifetime), lifetime/2)
	return tok.Expiry.Add(-leeway - t.jitter(leeway/2))
}

// rebase restates a token endpoint's answer on the Tokens' clock.
func (r *run) rebase(tok Token) Token {
	now := r.t.now()
	lifetime := tok.Expiry.Sub(tok.ObtainedAt)
	if tok.ObtainedAt.IsZero() || lifetime <= 0 {
		lifetime = r.settings.LifetimeOrDefault()
	}
	tok.ObtainedAt = now
	tok.Expiry = now.Add(lifetime)
	return tok
}

// lock takes the connection's refresh lease. While another process holds
// it, lock waits with backoff and re-reads the store each time: if the
// holder stored a fresh token set, that one is used (o is then the
// result). Once the lease is taken the record is read again.
func (r *run) lock(ctx context.Context, c *store.Connection, cand *candidate) (*store.Connection, *candidate, *runResult) {
	key := leaseKey(r.id)
	// A release of this process's lease by an earlier refresh may still be
	// under way; taking the lease (as the same owner) before it is done
	// would have it released under this refresh.
	if err := r.s.waitRelease(ctx); err != nil {
		o := r.readFailed(fmt.Errorf("oauth: refresh connection %s: %w", r.s.ref, err))
		return nil, nil, &o
	}
	for n := 0; ; n++ {
		_, err := r.t.store.AcquireLease(ctx, key, r.t.owner, r.t.leaseTTL)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			o := r.readFailed(fmt.Errorf("oauth: take refresh lease of connection %s: %w", r.s.ref, err))
			return nil, nil, &o
		}
		if err := sleep(ctx, backoff(leaseWaitMin, leaseWaitMax, n, r.t.jitter)); err != nil {
			o := r.readFailed(fmt.Errorf("oauth: refresh connection %s: another process holds the refresh lease: %w (%w)", r.s.ref, store.ErrLeaseHeld, err))
			if cand.valid(r.t.now()) {
				o.cached = newCached(cand.tok, r.refreshAt(cand), cand.envelope)
			}
			return nil, nil, &o
		}
		c2, cand2, err := r.load(ctx)
		if err != nil {
			o := r.readFailed(err)
			return nil, nil, &o
		}
		c, cand = c2, cand2
		if cand.pending == nil && !r.need(cand) {
			o := r.adopt(cand)
			return nil, nil, &o
		}
	}
	r.s.setLease()
	c, cand, err := r.load(ctx)
	if err != nil {
		o := r.readFailed(err)
		return nil, nil, &o
	}
	return c, cand, nil
}

// adopt uses cand as it is: no call to the provider.
func (r *run) adopt(cand *candidate) runResult {
	if cand.empty {
		return runResult{err: fmt.Errorf("oauth: connection %s: %w", r.s.ref, ErrNotConnected), drop: true}
	}
	e := newCached(cand.tok, r.refreshAt(cand), cand.envelope)
	o := runResult{cached: e, post: []func(){r.schedule(e)}}
	if r.s.isFailing() {
		o.post = append(o.post, r.event(Recovered, "another process refreshed the token set", nil))
	}
	return o
}

// succeeded are the log records and events of a new token set.
func (r *run) succeeded(ctx context.Context, tok Token, rotated, recovered bool) []func() {
	failing := r.s.isFailing()
	attrs := map[string]string{
		"expires_at": tok.Expiry.UTC().Format(time.RFC3339),
		"rotated":    strconv.FormatBool(rotated),
	}
	msg := "token refreshed"
	if r.cc {
		msg = "client credentials token renewed"
	}
	post := []func(){
		func() { r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelInfo, EventRefreshed, msg, attrs) },
		r.event(Refreshed, msg, nil),
	}
	if failing || recovered {
		post = append(post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelInfo, EventRecovered, "refresh works again", nil)
			},
			r.event(Recovered, "refresh works again", nil))
	}
	return post
}

// event returns a post action emitting one event.
func (r *run) event(kind EventKind, reason string, err error) func() {
	return func() {
		r.t.emit(Event{Kind: kind, ConnectionID: r.id, Ref: r.s.ref, Reason: reason, Err: err, At: r.t.now()})
	}
}

// schedule returns a post action telling the refresher when e is due.
func (r *run) schedule(e *cachedToken) func() {
	return func() {
		if rf := r.t.refresher.Load(); rf != nil && r.id != "" && e.refreshable {
			rf.set(r.id, r.t.nextDue(e, rf.keepAlive))
		}
	}
}

// unschedule returns a post action taking the connection off the refresher.
func (r *run) unschedule() func() {
	return func() {
		if rf := r.t.refresher.Load(); rf != nil && r.id != "" {
			rf.remove(r.id)
		}
	}
}

// bookkeeping returns a context for writes after the refresh proper: ctx's
// values, its own short timeout.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

// releaseLease frees the connection's refresh lease.
func (r *run) releaseLease(ctx context.Context) {
	if r.id == "" {
		return
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := r.t.store.ReleaseLease(ctx, leaseKey(r.id), r.t.owner); err != nil {
		r.t.logger.Warn("connkit: cannot release a refresh lease; it expires by itself", "connection", r.id, "error", err)
	}
}

// Source state shared by runs; each takes s.mu briefly.

func (s *TokenSource) setID(id string) {
	if id == "" {
		return
	}
	s.mu.Lock()
	changed := s.id != id
	s.id = id
	s.mu.Unlock()
	if changed {
		s.t.bind(id, s)
	}
}

func (s *TokenSource) setLease() {
	s.mu.Lock()
	s.lease = true
	s.mu.Unlock()
}

func (s *TokenSource) isFailing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing
}
