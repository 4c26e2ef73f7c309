package oauth

import (
	"context"
	"errors"
	"log/slog"

	"github.com/connkit/connkit/connection"
)

// ConnectClientCredentials obtains a token set for the connection at ref,
// whose type uses the client credentials grant (RFC 6749 section 4.4),
// without a browser, and stores it sealed, bound to the token and
// revocation URLs it was obtained with (see [EndpointChangedError]): the
// connection record is created when absent, its status becomes configured
// and the event is logged. Such
// a token set has no refresh token, so it is not scheduled for refresh;
// [Flow.ClientCredentialsToken] renews it when it nears expiry.
//
// A failure (a *TokenError from the provider, ErrMisconfigured for a type
// with another grant or unusable values) is logged to the connection and
// never replaces a stored token set.
func (f *Flow) ConnectClientCredentials(ctx context.Context, ref connection.Ref) error {
	_, err := f.obtainClientCredentials(ctx, ref, false)
	return err
}

// ClientCredentialsToken returns the connection's client-credentials token
// set: the stored one while it is valid beyond the type's refresh leeway,
// otherwise a new one obtained from the provider and stored (as
// ConnectClientCredentials does), at the token URL the stored set was
// obtained at: when the connection's values now name another one, it
// fails with an [*EndpointChangedError] and sends nothing (a new
// ConnectClientCredentials records the new URL). Concurrent calls for one
// connection in this process share one token request.
func (f *Flow) ClientCredentialsToken(ctx context.Context, ref connection.Ref) (Token, error) {
	if err := ref.Validate(); err != nil {
		return Token{}, err
	}
	if tok, ok := f.storedClientCredentials(ctx, ref); ok {
		return tok, nil
	}
	// The renewal is shared by every concurrent caller for the connection,
	// so it runs on a context of its own (this caller's values, its own
	// timeout): each caller waits only as long as its own ctx allows, and
	// one giving up fails no other.
	ch := f.ccGroup.DoChan(ref.String(), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ccRenewTimeout)
		defer cancel()
		// Another caller may have renewed it while this one waited.
		if tok, ok := f.storedClientCredentials(ctx, ref); ok {
			return tok, nil
		}
		return f.obtainClientCredentials(ctx, ref, true)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// ccRenewTimeout bounds one shared client credentials renewal: the store
// reads and writes around the token request, which the HTTP client bounds
// by itself (DefaultTokenTimeout unless configured otherwise).
const ccRenewTimeout = 2 * DefaultTokenTimeout

// storedClientCredentials returns the stored token set when it is still
// fresh: valid for longer than the type's leeway.
func (f *Flow) storedClientCredentials(ctx context.Context, ref connection.Ref) (Token, bool) {
	c, err := f.store.GetConnection(ctx, ref)
	if err != nil || c.Token == nil {
		return Token{}, false
	}
	tok, err := OpenToken(f.sealer, c.ID, c.Token)
	if err != nil {
		return Token{}, false
	}
	res, err := f.resolver.Resolve(ctx, ref)
	if err != nil || res.Variable.Type.OAuth2 == nil {
		return Token{}, false
	}
	leeway := res.Variable.Type.OAuth2.Leeway(tok.Expiry.Sub(tok.ObtainedAt))
	if !tok.Valid(f.now().Add(leeway)) {
		return Token{}, false
	}
	return tok, true
}

// storedPins returns the URLs the connection's stored token set is bound
// to; none when it holds no set, or one that does not open (which a
// renewal replaces, as before pinning).
func (f *Flow) storedPins(ctx context.Context, connID string) endpointPins {
	c, err := f.store.GetConnectionByID(ctx, connID)
	if err != nil || c.Token == nil {
		return endpointPins{}
	}
	tok, err := OpenToken(f.sealer, connID, c.Token)
	if err != nil {
		return endpointPins{}
	}
	return tok.pins
}

func (f *Flow) obtainClientCredentials(ctx context.Context, ref connection.Ref, renew bool) (Token, error) {
	cs, err := f.prepare(ctx, ref, connection.GrantClientCredentials, true)
	if err != nil {
		if cs != nil && cs.res != nil && cs.res.ConnectionID != "" {
			f.journal.record(ctx, cs.res.ConnectionID, ref, slog.LevelWarn, EventConnectFailed,
				"client credentials grant could not start", errorAttrs("client_credentials", err))
		}
		return Token{}, err
	}
	connID, err := f.ensureConnection(ctx, ref, cs.res.ConnectionID)
	if err != nil {
		return Token{}, err
	}
	ep := cs.endpoint
	if renew {
		// A renewal sends the client secret where the stored set was
		// obtained, and only while the values still name it (see pin.go).
		if ep, err = ep.pinned(ref, f.storedPins(ctx, connID), connection.FieldTokenURL); err != nil {
			f.journal.record(ctx, connID, ref, slog.LevelError, EventRefreshFailed,
				"the connection's token URL changed since CONNECT: nothing was sent; reconnect", errorAttrs("client_credentials", err))
			return Token{}, err
		}
	}
	tok, ot, err := ep.ClientCredentials(ctx, f.client)
	if err != nil {
		event := EventConnectFailed
		if renew {
			event = EventRefreshFailed
		}
		f.journal.record(ctx, connID, ref, slog.LevelWarn, event, "client credentials grant failed", errorAttrs("client_credentials", err))
		code := "error"
		if te, ok := errors.AsType[*TokenError](err); ok && te.Code != "" {
			code = te.Code
		}
		f.markFailed(ctx, connID, "client credentials grant failed: "+code)
		return Token{}, err
	}
	if _, err := f.saveToken(ctx, connID, ref, cs.typ.OAuth2, tok, ep.ExtraFields(ot)); err != nil {
		f.journal.record(ctx, connID, ref, slog.LevelError, EventConnectFailed, "token set could not be stored", errorAttrs("store", err))
		return Token{}, err
	}
	event, msg := EventConnected, "connected with the client credentials grant"
	if renew {
		event, msg = EventRefreshed, "client credentials token renewed"
	}
	f.journal.record(ctx, connID, ref, slog.LevelInfo, event, msg, tokenAttrs(tok))
	return tok, nil
}
