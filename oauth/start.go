package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Keys of store.PendingAuth.Data.
const (
	pendingAuthorizeURL = "authorize_url"
	pendingRevokeURL    = "revoke_url"
	pendingIssRequired  = "iss_required"
	pendingPKCE         = "pkce"
	pendingBrowser      = "browser"
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
// flow started against, expiring after the StateTTL by the store's clock.
//
// Errors: connection.ErrBadRef for a bad ref; ErrMisconfigured (with the
// *connection.ValidationError when values are missing or invalid) for a type
// without OAuth 2.0, with another grant, or with unusable values; the
// Resolver's and the store's errors otherwise. A failure is also written to
// the connection's log when the connection exists.
//
// Start does not bind the CONNECT to the browser that will complete it, so
// it is refused with [ErrUnboundConnect] unless FlowConfig.AllowUnboundConnect
// is set (see there for the risk): hosts begin CONNECTs with
// [Flow.StartRedirect].
func (f *Flow) Start(ctx context.Context, ref connection.Ref) (string, error) {
	if !f.allowUnbound {
		return "", fmt.Errorf("oauth: Start of %s: use StartRedirect, or set FlowConfig.AllowUnboundConnect: %w", ref, ErrUnboundConnect)
	}
	authURL, _, err := f.start(ctx, ref, "")
	return authURL, err
}

// StartRedirect begins a CONNECT like Start and answers the browser that
// asked for it with a 303 to the authorize URL, binding the CONNECT to that
// browser: it sets a short-lived cookie (HttpOnly, SameSite=Lax, Secure for
// an https RedirectURL, scoped to the callback's path) whose hash the
// pending authorization records, and the callback refuses to complete the
// CONNECT without it. This is the CSRF protection of RFC 9700 section 4.7:
// a CONNECT link started by one person cannot be completed by another
// (who would otherwise attach their own third-party account to the
// first person's connection).
//
// The host mounts it behind its own authentication: the request must come
// from someone allowed to connect ref, and, since it starts a CONNECT, be
// protected against cross-site request forgery (a CSRF token, or a session
// cookie with SameSite=Lax or Strict). StartRedirect itself refuses, with
// an answer of its own and an error matching [ErrBadStartRequest]:
//
//   - a request that is not a POST (405 with Allow: POST): a GET could be
//     triggered by any site through a link or an image;
//   - a request whose Host is not the host (and port) of the RedirectURL
//     (421 Misdirected Request): the binding cookie is a host-only cookie
//     for the callback's path, so the browser would not send it back to a
//     callback on another host, and the CONNECT could never complete. A host
//     serving the callback on its own domain ("https://oauth2.example.com/
//     callback") serves StartRedirect there too. Behind a reverse proxy the
//     proxy must pass the original Host header on.
//
// On any other error nothing is written to w and the error is returned, as
// for Start.
func (f *Flow) StartRedirect(w http.ResponseWriter, r *http.Request, ref connection.Ref) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "CONNECT must be started with a POST request.", http.StatusMethodNotAllowed)
		return fmt.Errorf("oauth: StartRedirect with method %s: %w", sanitize(r.Method, 16), ErrBadStartRequest)
	}
	if u, _ := url.Parse(f.redirectURL); !sameHost(r.Host, u) { // checked by NewFlow
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "CONNECT must be started on the host of the OAuth callback.", http.StatusMisdirectedRequest)
		return fmt.Errorf("oauth: StartRedirect on host %q, but the RedirectURL's host is %q: %w", sanitize(r.Host, 256), u.Host, ErrBadStartRequest)
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	authURL, state, err := f.start(r.Context(), ref, hashState(nonce))
	if err != nil {
		return err
	}
	http.SetCookie(w, f.bindingCookie(state, nonce, int(f.stateTTL/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
	return nil
}

// sameHost reports whether host (a request's Host) names the host and port
// of u: case-insensitively, without a trailing dot, with the scheme's
// default port implied.
func sameHost(host string, u *url.URL) bool {
	return canonicalHost(host, u.Scheme) == canonicalHost(u.Host, u.Scheme)
}

func canonicalHost(h, scheme string) string {
	name, port, err := net.SplitHostPort(h)
	if err != nil {
		name, port = h, ""
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	return strings.ToLower(strings.TrimSuffix(name, ".")) + " " + port
}

// bindingCookie is the cookie binding the CONNECT with state to a browser;
// maxAge < 0 deletes it.
func (f *Flow) bindingCookie(state, value string, maxAge int) *http.Cookie {
	u, _ := url.Parse(f.redirectURL) // checked by NewFlow
	secure := u.Scheme == "https"
	name := "connkit-oauth-" + hashState(state)[:16]
	if secure {
		name = "__Secure-" + name
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// start begins a CONNECT; browser is the hash of the browser-binding
// cookie, or "" for none.
func (f *Flow) start(ctx context.Context, ref connection.Ref, browser string) (authURL, state string, err error) {
	cs, err := f.prepare(ctx, ref, connection.GrantAuthorizationCode, true)
	if err != nil {
		if cs != nil && cs.res != nil && cs.res.ConnectionID != "" {
			f.journal.record(ctx, cs.res.ConnectionID, ref, slog.LevelWarn, EventConnectFailed,
				"CONNECT could not start", errorAttrs("start", err))
		}
		return "", "", err
	}
	connID, err := f.ensureConnection(ctx, ref, cs.res.ConnectionID)
	if err != nil {
		return "", "", err
	}
	state, err = newState(f.sealer, connID)
	if err != nil {
		return "", "", err
	}
	hash := hashState(state)
	method := cs.typ.OAuth2.PKCEOrDefault()
	var verifier string
	var sealedVerifier []byte
	if method != connection.PKCEOff {
		verifier = newVerifier()
		sealedVerifier, err = f.sealer.Seal([]byte(verifier), store.AssociatedData("pending", hash, "verifier"))
		if err != nil {
			return "", "", fmt.Errorf("oauth: seal PKCE verifier: %w", err)
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
		// The store counts the lifetime by its clock (see
		// FlowConfig.StateTTL); ExpiresAt by this replica's clock is for
		// stores that predate TTL.
		TTL:       f.stateTTL,
		ExpiresAt: now.Add(f.stateTTL),
	}
	if browser != "" {
		p.Data[pendingBrowser] = browser
	}
	if u := cs.endpoint.RevokeURL(); u != "" {
		p.Data[pendingRevokeURL] = u
	}
	if cs.md != nil {
		p.Issuer = cs.md.Issuer
		if cs.md.AuthorizationResponseIssParameterSupported {
			p.Data[pendingIssRequired] = "true"
		}
	}
	if err := f.store.PutPending(ctx, p); err != nil {
		return "", "", fmt.Errorf("oauth: record pending authorization of %s: %w", ref, err)
	}
	authURL = cs.endpoint.AuthCodeURL(state, verifier)
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
	if browser != "" {
		attrs["browser_bound"] = "true"
	}
	f.journal.record(ctx, connID, ref, slog.LevelInfo, EventConnectStarted, "CONNECT started", attrs)
	return authURL, state, nil
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
