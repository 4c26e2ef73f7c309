package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Writing a refreshed token set: the compare-and-swap write that never
// overwrites another token set, and the pending set kept in memory (and
// retried) when the store refuses it. See the protocol in refresh.go.

// pendingSet is a new token set the store has not taken yet.
type pendingSet struct {
	tok    Token
	sealed *store.Token // nil if sealing failed; sealed again on retry
	base   *baseSet     // the stored set it replaces
	meta   map[string]string
	since  time.Time
}

// baseSet is a token set a write expects to find in the store: its envelope
// as last read, and what it holds. The store may hold the same set under
// another envelope: store.Rewrap seals sets again under a new key while the
// store is in use, and a write that lost to Rewrap's must still recognise
// the set it replaces (see storedSet.is).
type baseSet struct {
	env []byte
	tok Token
}

// storedSet is the token set found in a record, opened at most once to tell
// whether it is a set the run knows.
type storedSet struct {
	r      *run
	st     *store.Token // nil: the record holds no token set
	tok    Token
	err    error
	opened bool
}

// stored wraps the token set found in a record.
func (r *run) stored(st *store.Token) *storedSet { return &storedSet{r: r, st: st} }

// open returns the set's plaintext.
func (f *storedSet) open() (Token, error) {
	if !f.opened {
		f.tok, f.err = OpenToken(f.r.t.sealer, f.r.id, f.st)
		f.opened = true
	}
	return f.tok, f.err
}

// is reports whether the stored set is b (nil b: no token set): the same
// envelope, or one that opens to the same set.
func (f *storedSet) is(b *baseSet) bool {
	switch {
	case f.st == nil || b == nil:
		return f.st == nil && b == nil
	case bytes.Equal(f.st.Sealed, b.env):
		return true
	}
	tok, err := f.open()
	return err == nil && sameSet(&tok, &b.tok)
}

// flush writes this process's unwritten token set, under the lease. On a
// failed write the set stays pending and the run goes on with it.
func (r *run) flush(ctx context.Context, c *store.Connection, cand *candidate) (*store.Connection, *candidate, error) {
	p := cand.pending
	if p.sealed == nil {
		sealed, err := SealToken(r.t.sealer, r.id, p.tok)
		if err != nil {
			r.t.logger.Error("connkit: cannot seal a refreshed token set", "connection", r.id, "error", err)
			return c, cand, nil
		}
		p.sealed = sealed
		cand.envelope = sealed.Sealed
	}
	stored, how, err := r.persist(ctx, c, cand.base, p.sealed, p.tok, func(c *store.Connection) bool {
		mergeMetadata(c, p.meta)
		return true
	})
	if err != nil {
		r.t.logger.Warn("connkit: storing a refreshed token set failed again; retrying", "connection", r.id,
			"ref", r.s.ref.String(), "pending_since", p.since.UTC().Format(time.RFC3339), "error", err)
		return c, cand, nil
	}
	r.s.clearPending(p)
	switch how {
	case persisted:
		r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelInfo, EventRefreshed,
			"refreshed token set stored after failed attempts",
			map[string]string{"pending_since": p.since.UTC().Format(time.RFC3339)})
		return stored, &candidate{tok: p.tok, envelope: p.sealed.Sealed, base: &baseSet{env: stored.Token.Sealed, tok: p.tok}}, nil
	case gone:
		// DISCONNECT deleted the set ours replaces: nobody else knows of
		// ours, so it is revoked.
		r.post = append(r.post, r.revokeLost(ctx, p.tok)...)
		return nil, nil, fmt.Errorf("oauth: connection %s: %w", r.s.ref, ErrNotConnected)
	default: // superseded
		cand, err := r.candidate(stored)
		return stored, cand, err
	}
}

// save stores a new token set obtained from the provider and returns it as
// the result. The write comes before anyone sees the new access token; if
// it fails, the set is kept in memory and written later (see pendingSet).
func (r *run) save(ctx context.Context, c *store.Connection, cand *candidate, tok Token, meta map[string]string) runResult {
	if r.cc && !tok.RefreshToken.IsZero() {
		tok.RefreshToken = connection.Secret{} // never used by this grant
	}
	var base *baseSet
	if cand != nil {
		base = cand.base
	}
	rotated := cand != nil && !tok.RefreshToken.IsZero() && !tok.RefreshToken.Equal(cand.tok.RefreshToken)
	sealed, err := SealToken(r.t.sealer, r.id, tok)
	var (
		stored    *store.Connection
		how       persistResult
		recovered bool
	)
	if err == nil {
		stored, how, err = r.persist(ctx, c, base, sealed, tok, func(c *store.Connection) bool {
			mergeMetadata(c, meta)
			recovered = false
			if c.Health.Status == connection.StatusError && strings.HasPrefix(c.Health.Reason, refreshFailedPrefix) {
				c.Health = connection.Health{Status: connection.StatusConfigured, Reason: "refreshed", Since: r.t.now()}
				recovered = true
			}
			return true
		})
	}
	switch {
	case err != nil && r.cc:
		// Nothing rotates in this grant: serve the token from memory.
		r.t.logger.Warn("connkit: cannot store a client credentials token", "connection", r.id, "error", err)
		e := newCached(tok, r.t.refreshAt(tok, r.settings), nil)
		return runResult{cached: e, post: r.succeeded(ctx, tok, false, false)}
	case err != nil:
		// The provider may have rotated the refresh token: the new set is
		// the only good one. Keep it, serve it, write it later.
		p := &pendingSet{tok: tok, sealed: sealed, base: base, meta: meta, since: r.t.now()}
		var envelope []byte
		if sealed != nil {
			envelope = sealed.Sealed
		}
		r.s.setPending(p)
		e := newCached(tok, r.t.refreshAt(tok, r.settings), envelope)
		post := []func(){func() {
			r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelWarn, EventRefreshed,
				"token refreshed but not stored yet; the write is retried",
				map[string]string{"error": sanitize(err.Error(), 256)})
		}}
		return runResult{cached: e, post: append(post, r.succeeded(ctx, tok, rotated, false)...)}
	case how == gone:
		// DISCONNECT deleted the set refreshed while the provider issued
		// this one (it revoked the old set, rotated away already): nobody
		// else knows of the new set, so it is revoked here.
		return runResult{err: fmt.Errorf("oauth: connection %s was disconnected during refresh: %w", r.s.ref, ErrNotConnected),
			drop: true, post: r.revokeLost(ctx, tok)}
	case how == superseded:
		// A new token set was stored meanwhile (a new CONNECT): it wins.
		r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelInfo, EventRefreshed,
			"refreshed token set discarded: the connection was connected again meanwhile", nil)
		next, err := r.candidate(stored)
		if err != nil {
			return r.readFailed(err)
		}
		// The set obtained is not revoked: at some providers that would
		// revoke every grant of the user to the client, the new one too.
		return r.adopt(next)
	}
	if cand != nil && cand.pending != nil {
		r.s.clearPending(cand.pending) // replaced by the set just stored
	}
	e := newCached(tok, r.t.refreshAt(tok, r.settings), sealed.Sealed)
	o := runResult{cached: e, post: r.succeeded(ctx, tok, rotated, recovered)}
	o.post = append(o.post, r.schedule(e))
	return o
}

// revokeLostTimeout bounds the revocation of a token set that could not be
// kept (both tokens, retries included).
const revokeLostTimeout = 30 * time.Second

// revokeLost returns the post action revoking tok, a set this run obtained
// from the provider that no one will ever use: DISCONNECT deleted the set it
// replaces meanwhile (and revoked that one, already rotated away, which at
// many providers does nothing). Without this the new refresh token would
// stay valid at the provider. Best effort, like DISCONNECT's revocation; each
// attempt is written to the connection's log.
func (r *run) revokeLost(ctx context.Context, tok Token) []func() {
	ep, err := r.endpoint(ctx, tok.pins, connection.FieldRevokeURL)
	if err != nil {
		if ec, ok := errors.AsType[*EndpointChangedError](err); ok {
			return []func(){func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelWarn, EventRevokeFailed,
					"a token set refreshed during DISCONNECT was not revoked: the revoke URL changed since CONNECT",
					ec.attrs(map[string]string{}))
			}}
		}
		return nil
	}
	if ep.RevokeURL() == "" {
		return nil
	}
	return []func(){func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeLostTimeout)
		defer cancel()
		for _, t := range [...]struct {
			hint   string
			secret connection.Secret
		}{{HintRefreshToken, tok.RefreshToken}, {HintAccessToken, tok.AccessToken}} {
			if t.secret.IsZero() {
				continue
			}
			attrs := map[string]string{"token_type_hint": t.hint}
			if err := ep.Revoke(ctx, r.t.client, t.secret, t.hint); err != nil {
				maps.Copy(attrs, failureAttrs(err))
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelWarn, EventRevokeFailed,
					"revoking a token set refreshed during DISCONNECT failed", attrs)
				continue
			}
			r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelInfo, EventRevoked,
				"revoked a token set refreshed during DISCONNECT", attrs)
		}
	}}
}

// persistResult says how a compare-and-swap write ended.
type persistResult int

const (
	persisted  persistResult = iota // written (or found already written)
	superseded                      // the store holds another token set
	gone                            // the record or its token set was deleted
)

// persist writes sealed, the sealed form of tok (nil: keep the token set),
// into the record, applying edit (which reports whether anything changed),
// provided the stored token set is still base (nil: none). On a revision
// conflict it re-reads and tries again.
func (r *run) persist(ctx context.Context, c *store.Connection, base *baseSet, sealed *store.Token, tok Token, edit func(*store.Connection) bool) (*store.Connection, persistResult, error) {
	for range maxCAS {
		if c == nil {
			var err error
			c, err = r.t.store.GetConnectionByID(ctx, r.id)
			if errors.Is(err, store.ErrNotFound) {
				return nil, gone, nil
			}
			if err != nil {
				return nil, 0, fmt.Errorf("oauth: read connection %s: %w", r.s.ref, err)
			}
		}
		found := r.stored(c.Token)
		switch {
		case sealed != nil && c.Token != nil && found.is(&baseSet{env: sealed.Sealed, tok: tok}):
			return c, persisted, nil
		case found.is(base):
			// Ours to replace (perhaps sealed again meanwhile).
		case c.Token == nil:
			return c, gone, nil
		default:
			return c, superseded, nil
		}
		// Edit a copy: the caller's record stays as read.
		w := *c
		w.Metadata = maps.Clone(c.Metadata)
		if sealed != nil {
			w.Token = sealed
		}
		changed := edit(&w)
		if sealed == nil && !changed {
			return c, persisted, nil
		}
		rev, err := r.t.store.PutConnection(ctx, &w)
		if err == nil {
			w.Revision = rev
			return &w, persisted, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, 0, fmt.Errorf("oauth: store token set of connection %s: %w", r.s.ref, err)
		}
		c = nil
	}
	return nil, 0, fmt.Errorf("oauth: store token set of connection %s: %w", r.s.ref, store.ErrConflict)
}

// mergeMetadata sets the non-secret token response fields the type keeps.
func mergeMetadata(c *store.Connection, meta map[string]string) {
	if len(meta) == 0 {
		return
	}
	if c.Metadata == nil {
		c.Metadata = make(map[string]string, len(meta))
	}
	for k, v := range meta {
		c.Metadata[k] = v
	}
}

func (s *TokenSource) pendingSet() *pendingSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

func (s *TokenSource) clearPending(p *pendingSet) {
	s.mu.Lock()
	if s.pending == p {
		s.pending = nil
	}
	s.mu.Unlock()
}

// setPending keeps p for writing later and starts the retry loop.
func (s *TokenSource) setPending(p *pendingSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = p
	if s.writer {
		return
	}
	if !s.t.goAdd() {
		s.t.logger.Error("connkit: a refreshed token set could not be stored and the token sources are closed: it is lost",
			"connection", s.id, "ref", s.ref.String())
		return
	}
	s.writer = true
	go s.writeLoop()
}

// writeLoop retries the write of the pending token set with backoff until it
// is written (by this loop or by any refresh of the source), superseded, or
// the Tokens is closed (one last attempt). Each attempt is a refresh run, so
// it takes (extends) the lease and never races another refresh of this
// process.
func (s *TokenSource) writeLoop() {
	defer s.t.goDone()
	ceiling := max(writeWaitMin, s.t.leaseTTL/4)
	for n := 0; ; n++ {
		final := false
		timer := time.NewTimer(backoff(writeWaitMin, ceiling, n, s.t.jitter))
		select {
		case <-timer.C:
		case <-s.t.stop:
			timer.Stop()
			final = true
		}
		s.mu.Lock()
		if s.pending == nil {
			s.writer = false
			s.mu.Unlock()
			return
		}
		if f := s.flight; f != nil {
			s.mu.Unlock()
			<-f.done
		} else {
			f = &flight{done: make(chan struct{}), gen: s.gen}
			s.flight = f
			base := s.cur.Load()
			s.mu.Unlock()
			for _, p := range s.fly(context.Background(), f, base) {
				p()
			}
		}
		if final {
			s.mu.Lock()
			lost := s.pending
			s.writer = false
			s.mu.Unlock()
			if lost != nil {
				s.t.logger.Error("connkit: token sources closed before a refreshed token set could be stored: it is lost",
					"connection", s.id, "ref", s.ref.String(), "pending_since", lost.since.UTC().Format(time.RFC3339))
			}
			return
		}
	}
}
