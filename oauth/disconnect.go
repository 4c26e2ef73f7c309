package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// DisconnectResult reports what [Flow.Disconnect] did.
type DisconnectResult struct {
	// ConnectionID is the connection's stable id, "" when no connection
	// record exists at the ref.
	ConnectionID string
	// Deleted reports whether a token set was deleted from the store (false
	// when the connection held none).
	Deleted bool
	// Revoked lists the tokens revoked at the provider, by token type hint
	// ([HintRefreshToken], [HintAccessToken]), in the order revoked.
	Revoked []string
	// NotRevoked lists the tokens whose revocation failed or could not be
	// attempted; RevokeErr says why.
	NotRevoked []string
	// RevokeErr joins the revocation failures (each a *TokenError when the
	// provider answered), nil when every revocation succeeded or none was
	// due (no revocation URL, no token).
	RevokeErr error
}

// Disconnect ends the connection at ref: it stops refreshing it
// (Scheduler.Unschedule), waits for a refresh in progress in any process to
// end (by taking the connection's refresh lease, for up to
// [DefaultLeaseTTL]; a refresh still running then revokes the token set it
// obtains when it finds the connection disconnected), deletes its token set
// and the metadata the
// provider returned from the store (the record, its values, its stable id
// and its log stay, so a later CONNECT works and keeps them), and then, when
// the type declares a revocation URL, revokes the tokens at the provider
// (RFC 7009): the refresh token first, then the access token, each with its
// token_type_hint, retried on 5xx and 429 by the flow's HTTP client. The
// tokens go to the revocation URL recorded at CONNECT, and only while the
// connection's values still resolve to it: when they now give another one
// (or none, or one where there was none), nothing is revoked and RevokeErr
// wraps an [*EndpointChangedError]. A token set stored before URLs were
// recorded is revoked at the current URL.
// Revocation is best effort: local deletion happens even when it fails, and
// the result says which tokens were revoked and which were not. Each step is
// written to the connection's log.
//
// Disconnecting a connection that holds no token set (or has no record)
// succeeds and deletes nothing. The error is non-nil only when the local
// deletion failed; revocation failures are in the result.
func (f *Flow) Disconnect(ctx context.Context, ref connection.Ref) (*DisconnectResult, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	out := &DisconnectResult{}
	c, err := f.store.GetConnection(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: read connection %s: %w", ref, err)
	}
	out.ConnectionID = c.ID
	if f.scheduler != nil {
		f.scheduler.Unschedule(c.ID)
	}
	// The endpoint is needed for revocation; a connection that no longer
	// resolves is still deleted locally.
	cs, perr := f.prepare(ctx, ref, "", false)
	var managed []string
	if cs != nil && cs.res != nil && cs.res.Variable.Type.OAuth2 != nil {
		managed = managedMetadataKeys(cs.res.Variable.Type.OAuth2)
	}
	var release func()
	if c.Token != nil {
		release = f.holdRefreshLease(ctx, c.ID)
	}
	tok, opened, deleted, err := f.deleteToken(ctx, c, managed)
	if release != nil {
		release()
	}
	if err != nil {
		f.journal.record(ctx, c.ID, ref, slog.LevelError, EventDisconnected, "DISCONNECT failed: tokens not deleted", errorAttrs("delete", err))
		return nil, err
	}
	out.Deleted = deleted
	if !deleted {
		f.journal.record(ctx, c.ID, ref, slog.LevelInfo, EventDisconnected, "disconnected (no token set was stored)", nil)
		return out, nil
	}
	f.journal.record(ctx, c.ID, ref, slog.LevelInfo, EventDisconnected, "disconnected: token set deleted", nil)

	var pending []string // hints of the tokens held, revocation order
	if !tok.RefreshToken.IsZero() {
		pending = append(pending, HintRefreshToken)
	}
	if !tok.AccessToken.IsZero() {
		pending = append(pending, HintAccessToken)
	}
	var ep *Endpoint
	if perr == nil && opened {
		// The revocation URL the set is bound to, while the values still
		// name it (see pin.go).
		ep, perr = cs.endpoint.pinned(ref, tok.pins, connection.FieldRevokeURL)
	}
	switch {
	case perr != nil && opened:
		// Cannot know whether or where to revoke.
		out.NotRevoked = pending
		out.RevokeErr = fmt.Errorf("oauth: revocation not attempted: %w", perr)
	case perr == nil && cs.endpoint.RevokeURL() == "":
		// The provider offers no revocation (and none was recorded, or
		// pinned would have refused): local deletion is all.
	case !opened:
		out.NotRevoked = []string{HintRefreshToken, HintAccessToken}
		out.RevokeErr = errors.New("oauth: revocation not attempted: the stored token set does not open")
	default:
		var errs []error
		for _, hint := range pending {
			secret := tok.AccessToken
			if hint == HintRefreshToken {
				secret = tok.RefreshToken
			}
			if err := ep.Revoke(ctx, f.client, secret, hint); err != nil {
				out.NotRevoked = append(out.NotRevoked, hint)
				errs = append(errs, err)
				f.journal.record(ctx, c.ID, ref, slog.LevelWarn, EventRevokeFailed, "revocation at the provider failed",
					withHint(errorAttrs("revoke", err), hint))
				continue
			}
			out.Revoked = append(out.Revoked, hint)
			f.journal.record(ctx, c.ID, ref, slog.LevelInfo, EventRevoked, "revoked at the provider",
				map[string]string{"token_type_hint": hint})
		}
		out.RevokeErr = errors.Join(errs...)
	}
	if out.RevokeErr != nil && (perr != nil || !opened) {
		msg := "revocation at the provider not attempted"
		if errors.As(perr, new(*EndpointChangedError)) {
			msg = "revocation at the provider not attempted: the connection's revoke URL changed since CONNECT"
		}
		f.journal.record(ctx, c.ID, ref, slog.LevelWarn, EventRevokeFailed, msg, errorAttrs("revoke", out.RevokeErr))
	}
	return out, nil
}

// disconnectLeaseWait bounds how long DISCONNECT waits for a refresh in
// progress to release the connection's refresh lease; a refresh holds it
// for at most its LeaseTTL (DefaultLeaseTTL unless configured otherwise),
// longer only while the store refuses its writes.
const disconnectLeaseWait = DefaultLeaseTTL

// holdRefreshLease takes the refresh lease of connection id (the key and
// lease protocol of the refresh, under an owner of its own), waiting while
// a refresh holds it, so that the token set DISCONNECT deletes and revokes
// is not replaced meanwhile by one no one would revoke. It gives up after
// disconnectLeaseWait, or at once on a store error, and goes on without the
// lease: DISCONNECT never fails for want of it. The returned func releases
// the lease.
func (f *Flow) holdRefreshLease(ctx context.Context, id string) (release func()) {
	key, owner := leaseKey(id), "connkit-disconnect-"+rand.Text()
	wctx, cancel := context.WithTimeout(ctx, disconnectLeaseWait)
	defer cancel()
	for n := 0; ; n++ {
		_, err := f.store.AcquireLease(wctx, key, owner, DefaultLeaseTTL)
		if err == nil {
			return func() {
				rctx, cancel := bookkeeping(ctx)
				defer cancel()
				if err := f.store.ReleaseLease(rctx, key, owner); err != nil {
					f.logger.WarnContext(ctx, "connkit: cannot release a refresh lease; it expires by itself", "connection", id, "error", err)
				}
			}
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			f.logger.WarnContext(ctx, "connkit: DISCONNECT cannot take the refresh lease; deleting without it", "connection", id, "error", err)
			return func() {}
		}
		if sleep(wctx, backoff(leaseWaitMin, leaseWaitMax, n, randomJitter)) != nil {
			f.logger.WarnContext(ctx, "connkit: a refresh still holds the lease; DISCONNECT deletes without it (the refresh revokes what it obtains)",
				"connection", id)
			return func() {}
		}
	}
}

func withHint(a map[string]string, hint string) map[string]string {
	a["token_type_hint"] = hint
	return a
}

// deleteToken removes the token set and the managed metadata from the
// connection with compare-and-swap, re-reading on conflict, and returns the
// deleted token set (opened is false when it did not open).
func (f *Flow) deleteToken(ctx context.Context, c *store.Connection, managed []string) (tok Token, opened, deleted bool, err error) {
	for range 16 {
		if c.Token == nil {
			return Token{}, false, false, nil
		}
		t, oerr := OpenToken(f.sealer, c.ID, c.Token)
		if oerr != nil {
			f.logger.WarnContext(ctx, "connkit: token set to delete does not open", "connection", c.ID, "error", oerr)
		}
		c.Token = nil
		for _, k := range managed {
			delete(c.Metadata, k)
		}
		c.Health = connection.Health{Reason: "disconnected", Since: f.now()}
		_, err := f.store.PutConnection(ctx, c)
		if err == nil {
			return t, oerr == nil, true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return Token{}, false, false, fmt.Errorf("oauth: delete token of connection %s: %w", c.ID, err)
		}
		if c, err = f.store.GetConnectionByID(ctx, c.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Token{}, false, false, nil
			}
			return Token{}, false, false, fmt.Errorf("oauth: read connection: %w", err)
		}
	}
	return Token{}, false, false, fmt.Errorf("oauth: delete token: %w", store.ErrConflict)
}
