package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// The failure classes of the refresh protocol (see refresh.go): what a
// failed refresh does to the connection's status, log, events and schedule.

// notConnected is the result for a connection without a stored record.
func (r *run) notConnected() runResult {
	return runResult{err: fmt.Errorf("oauth: connection %s: %w", r.s.ref, ErrNotConnected), drop: true}
}

// readFailed is the result of a failure before any call to the provider:
// no cooldown, the next caller tries again.
func (r *run) readFailed(err error) runResult {
	return runResult{err: err, drop: errors.Is(err, ErrNotConnected)}
}

// noRefreshToken is the result for a due token set without a refresh
// token: only a new CONNECT helps. No call to the provider is made.
func (r *run) noRefreshToken(ctx context.Context, c *store.Connection, cand *candidate) runResult {
	err := &TokenError{Op: "refresh", Code: "invalid_grant", Description: "no refresh token"}
	const reason = refreshFailedPrefix + ": no refresh token" + mustReconnect
	o := runResult{err: err, cooldown: true, terminal: true}
	if cand.valid(r.t.now()) {
		o.cached = newCached(cand.tok, r.refreshAt(cand), cand.envelope)
	}
	// A refusal already reported (see providerFailed) is not reported again.
	reported := c.Health.Status == connection.StatusError && strings.HasSuffix(c.Health.Reason, mustReconnect)
	if !reported && r.markRed(ctx, c, cand.base, reason) {
		o.post = append(o.post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelError, EventRefreshFailed,
					"token expired and there is no refresh token: the customer must reconnect", nil)
			},
			r.event(RefreshFailed, "no refresh token", err),
			r.event(Disconnected, "no refresh token: the customer must reconnect", err))
	}
	o.post = append(o.post, r.unschedule())
	return o
}

// refusedLocally starts the status reason and log message of a refresh that
// connkit refused itself, before any request (see refusal and
// EndpointChangedError), so that it is never taken for the provider's
// answer.
const refusedLocally = "configuration refused locally"

// providerFailed handles a failed call to the token endpoint, or an
// endpoint connkit refused to build or use (a *refusal or an
// *EndpointChangedError: nothing was sent): the failure classes of the
// protocol.
func (r *run) providerFailed(ctx context.Context, c *store.Connection, cand *candidate, err error) runResult {
	now := r.t.now()
	te, _ := errors.AsType[*TokenError](err)
	o := runResult{err: err, cooldown: true}
	if te != nil {
		o.retryAfter = te.RetryAfter
	}
	if cand.valid(now) {
		o.cached = newCached(cand.tok, r.refreshAt(cand), cand.envelope)
	}
	var base *baseSet
	if cand != nil {
		base = cand.base
	}
	attrs := failureAttrs(err)
	desc := describe(err)
	rf, local := errors.AsType[*refusal](err)
	switch {
	case errors.Is(err, ErrReconnect) && !r.cc:
		// The refresh token is dead (revoked, expired, or reused and the
		// grant revoked): stop, mark red, let the customer reconnect. The
		// stored set loses its refresh token, so no process tries it again.
		o.terminal = true
		if cand.pending != nil {
			r.s.clearPending(cand.pending)
		}
		reason := refreshFailedPrefix + ": invalid_grant" + mustReconnect
		stripped := cand.tok
		stripped.RefreshToken = connection.Secret{}
		var envelope []byte // of the stripped set, once stored
		if sealed, serr := SealToken(r.t.sealer, r.id, stripped); serr == nil && c != nil {
			bctx, cancel := bookkeeping(ctx)
			_, how, werr := r.persist(bctx, c, base, sealed, stripped, func(c *store.Connection) bool {
				c.Health = connection.Health{Status: connection.StatusError, Reason: reason, Since: now}
				return true
			})
			cancel()
			switch {
			case werr != nil:
				r.t.logger.Warn("connkit: cannot mark a connection as needing reconnection", "connection", r.id, "error", werr)
			case how == persisted:
				envelope = sealed.Sealed
			}
		}
		if o.cached != nil {
			o.cached = newCached(stripped, o.cached.refreshAt, envelope)
		}
		o.post = append(o.post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelError, EventRefreshFailed,
					"the provider refused the refresh token: the customer must reconnect", attrs)
			},
			r.event(RefreshFailed, desc, err),
			r.event(Disconnected, desc+": the customer must reconnect", err),
			r.unschedule())
	case errors.As(err, new(*EndpointChangedError)):
		// The token URL changed since CONNECT (see pin.go): refused
		// locally, nothing was sent. The refresh token stays: it is still
		// good at the recorded URL, should the change be undone. Until
		// then, or a new CONNECT, every attempt (after the cooldown) is
		// refused the same way.
		const what = refusedLocally + ": the token URL changed since CONNECT"
		if c != nil {
			r.markRed(ctx, c, base, refreshFailedPrefix+": "+what+mustReconnect)
		}
		o.post = append(o.post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelError, EventRefreshFailed,
					what+"; nothing was sent: reconnect", attrs)
			},
			r.event(RefreshFailed, what, err))
	case local:
		// connkit refused the connection's configuration itself (see
		// endpointFor): no request was made, so the provider has said
		// nothing about the client. Red until the configuration is fixed;
		// the refresh token stays.
		what := refusedLocally + ": " + rf.reason
		if c != nil {
			r.markRed(ctx, c, base, refreshFailedPrefix+": "+what)
		}
		o.post = append(o.post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelError, EventRefreshFailed,
					what+"; nothing was sent to the provider", attrs)
			},
			r.event(RefreshFailed, what, err))
	case errors.Is(err, ErrMisconfigured) || (errors.Is(err, ErrReconnect) && r.cc):
		// The provider refused the client: a *TokenError.
		code := "invalid_client"
		if te != nil && te.Code != "" {
			code = te.Code
		}
		if c != nil {
			r.markRed(ctx, c, base, refreshFailedPrefix+": "+code+": the provider refused the OAuth client configuration")
		}
		o.post = append(o.post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelError, EventRefreshFailed,
					"the provider refused the OAuth client: check the client id, secret and token URL", attrs)
			},
			r.event(RefreshFailed, desc, err))
	default:
		// Provider unavailable (5xx, 429, network) or another error: retried
		// after a cooldown. Callers keep the token while it works; once it
		// has expired the connection turns red.
		if !cand.valid(now) && c != nil {
			r.markRed(ctx, c, base, refreshFailedPrefix+": "+shortCause(te))
		}
		o.post = append(o.post,
			func() {
				r.t.journal.record(ctx, r.id, r.s.ref, slog.LevelWarn, EventRefreshFailed,
					"refresh failed; it is retried after a cooldown", attrs)
			},
			r.event(RefreshFailed, desc, err))
	}
	return o
}

// markRed sets the connection's status to red with reason, if its token set
// is still base; it reports whether the status changed.
func (r *run) markRed(ctx context.Context, c *store.Connection, base *baseSet, reason string) bool {
	if c == nil {
		return false
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	changed := false
	_, _, err := r.persist(ctx, c, base, nil, Token{}, func(c *store.Connection) bool {
		changed = c.Health.Status != connection.StatusError || c.Health.Reason != reason
		if changed {
			c.Health = connection.Health{Status: connection.StatusError, Reason: reason, Since: r.t.now()}
		}
		return changed
	})
	if err != nil {
		r.t.logger.Warn("connkit: cannot set a connection's status", "connection", r.id, "error", err)
		return false
	}
	return changed
}

// describe is a short, secret-free account of a refresh failure.
func describe(err error) string {
	if te, ok := errors.AsType[*TokenError](err); ok {
		var b strings.Builder
		if te.Code != "" {
			b.WriteString(te.Code)
		} else if te.StatusCode != 0 {
			b.WriteString("HTTP " + strconv.Itoa(te.StatusCode))
		} else {
			b.WriteString("no response")
		}
		if te.Description != "" {
			b.WriteString(": ")
			b.WriteString(te.Description)
		}
		return b.String()
	}
	return sanitize(err.Error(), 256)
}

// shortCause names a temporary failure for a status reason.
func shortCause(te *TokenError) string {
	switch {
	case te == nil:
		return "error"
	case te.Code != "":
		return te.Code
	case te.StatusCode != 0:
		return "HTTP " + strconv.Itoa(te.StatusCode)
	default:
		return "provider unreachable"
	}
}

// failureAttrs are a failed refresh's log attributes: never a secret.
func failureAttrs(err error) map[string]string {
	a := map[string]string{}
	if te, ok := errors.AsType[*TokenError](err); ok {
		if te.Code != "" {
			a["error"] = te.Code
		}
		if te.Description != "" {
			a["error_description"] = te.Description
		}
		if te.StatusCode != 0 {
			a["http_status"] = strconv.Itoa(te.StatusCode)
		}
		if te.RetryAfter > 0 {
			a["retry_after"] = te.RetryAfter.String()
		}
	}
	if ec, ok := errors.AsType[*EndpointChangedError](err); ok {
		ec.attrs(a)
	}
	a["detail"] = sanitize(err.Error(), 512)
	return a
}
