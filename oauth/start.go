package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Keys of store.PendingAuth.Data.
const (
	pendingAuthorizeURL = "authorize_url"
	pendingIssRequired  = "iss_required"
	pendingPKCE         = "pkce"
)

// Start begins a CONNECT of the connection at ref (authorization code
// grant) and returns the URL to send the customer's browser to.
//
// The URL is built from the connection's resolved values: client id,
// authorize URL (a template, default or tenant may override it), the
// Flow's RedirectURL, the scopes (the connection's own when the type allows
// overriding them), a fresh state, a PKCE challenge (S256 unless the type
// says otherwise) and the type's extra authorize parameters. The connection
// record is created when absent, so its stable id exists from the first
// CONNECT on. A pending authorization is stored: the state only as a hash,
// the PKCE verifier sealed, the connection, the token URL and issuer the
// flow started against, expiring after the StateTTL.
//
// Errors: connection.ErrBadRef for a bad ref; ErrMisconfigured (with the
// *connection.ValidationError when values are missing or invalid) for a type
// without OAuth 2.0, with another grant, or with unusable values; the
// Resolver's and the store's errors otherwise. A failure is also written to
// the connection's log when the connection exists.
func (f *Flow) Start(ctx context.Context, ref connection.Ref) (string, error) {
	cs, err := f.prepare(ctx, ref, connection.GrantAuthorizationCode, true)
	if err != nil {
		if cs != nil && cs.res != nil && cs.res.ConnectionID != "" {
			f.journal.record(ctx, cs.res.ConnectionID, ref, slog.LevelWarn, EventConnectFailed,
				"CONNECT could not start", errorAttrs("start", err))
		}
		return "", err
	}
	connID, err := f.ensureConnection(ctx, ref, cs.res.ConnectionID)
	if err != nil {
		return "", err
	}
	state, err := newState(f.sealer, connID)
	if err != nil {
		return "", err
	}
	hash := hashState(state)
	method := cs.typ.OAuth2.PKCEOrDefault()
	var verifier string
	var sealedVerifier []byte
	if method != connection.PKCEOff {
		verifier = newVerifier()
		sealedVerifier, err = f.sealer.Seal([]byte(verifier), store.AssociatedData("pending", hash, "verifier"))
		if err != nil {
			return "", fmt.Errorf("oauth: seal PKCE verifier: %w", err)
		}
	}
	now := f.now()
	p := &store.PendingAuth{
		StateHash:    hash,
		ConnectionID: connID,
		Ref:          ref,
		Verifier:     sealedVerifier,
		RedirectURI:  f.redirectURL,
		TokenURL:     cs.endpoint.TokenURL(),
		Data: map[string]string{
			pendingAuthorizeURL: cs.endpoint.AuthorizeURL(),
			pendingPKCE:         string(method),
		},
		CreatedAt: now,
		ExpiresAt: now.Add(f.stateTTL),
	}
	if cs.md != nil {
		p.Issuer = cs.md.Issuer
		if cs.md.AuthorizationResponseIssParameterSupported {
			p.Data[pendingIssRequired] = "true"
		}
	}
	if err := f.store.PutPending(ctx, p); err != nil {
		return "", fmt.Errorf("oauth: record pending authorization of %s: %w", ref, err)
	}
	authURL := cs.endpoint.AuthCodeURL(state, verifier)
	attrs := map[string]string{
		"authorize_host": hostOf(cs.endpoint.AuthorizeURL()),
		"pkce":           string(method),
		"expires_at":     p.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"),
	}
	if s := cs.endpoint.Scopes(); len(s) > 0 {
		attrs["scopes"] = sanitize(strings.Join(s, " "), 512)
	}
	if p.Issuer != "" {
		attrs["issuer"] = p.Issuer
	}
	f.journal.record(ctx, connID, ref, slog.LevelInfo, EventConnectStarted, "CONNECT started", attrs)
	return authURL, nil
}

// hostOf returns the host of a URL for logs (no path or query, which may
// carry tenant data).
func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}
