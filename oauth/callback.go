package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// maxCallbackQuery bounds the query string of a callback.
const maxCallbackQuery = 16 << 10

// callbackQuery is a parsed authorization response (RFC 6749 section
// 4.1.2). state is set whenever the response carries exactly one
// well-formed state, even when something else is wrong with it, so the
// failure can be attributed to its connection.
type callbackQuery struct {
	state   string
	code    string
	errCode string
	errDesc string
	iss     string
	hasIss  bool
	params  url.Values
}

// errMalformedCallback is wrapped by every parse failure of a callback.
var errMalformedCallback = errors.New("malformed authorization response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformedCallback}, args...)...)
}

// parseCallback parses the query string of a callback. It refuses what RFC
// 6749 and RFC 9700 make suspicious: an unparsable or oversized query, a
// repeated parameter (section 3.1: parameters must not be included more
// than once), no state, both code and error, neither of them, and an error
// code with characters section 4.1.2.1 does not allow.
func parseCallback(raw string) (callbackQuery, error) {
	var q callbackQuery
	if len(raw) > maxCallbackQuery {
		return q, malformed("query string longer than %d bytes", maxCallbackQuery)
	}
	vals, perr := url.ParseQuery(raw)
	q.params = vals
	if s := vals["state"]; len(s) == 1 && wellFormedState(s[0]) {
		q.state = s[0]
	}
	if perr != nil {
		return q, malformed("query string does not parse")
	}
	for _, k := range sortedValueKeys(vals) {
		if len(vals[k]) > 1 {
			return q, malformed("parameter %q is repeated", sanitize(k, 64))
		}
	}
	switch s, ok := vals["state"]; {
	case !ok || s[0] == "":
		return q, malformed("no state parameter")
	case q.state == "":
		return q, malformed("state parameter is not one this client issued")
	}
	if iss, ok := vals["iss"]; ok {
		q.hasIss, q.iss = true, iss[0]
	}
	code, hasCode := vals["code"]
	e, hasErr := vals["error"]
	switch {
	case hasCode && hasErr:
		return q, malformed("both code and error are present")
	case hasErr:
		if e[0] == "" || !validErrorCode(e[0]) {
			return q, malformed("error parameter is empty or has invalid characters")
		}
		q.errCode = e[0]
		q.errDesc = sanitize(vals.Get("error_description"), maxDescription)
		return q, nil
	case !hasCode || code[0] == "":
		return q, malformed("neither code nor error is present")
	}
	q.code = code[0]
	return q, nil
}

// validErrorCode checks the character set of RFC 6749 section 4.1.2.1:
// %x20-21 / %x23-5B / %x5D-7E, at most 64 of them.
func validErrorCode(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func sortedValueKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// outcome is what a callback ended with.
type outcome struct {
	// failed callbacks have code and description set; status is the page's
	// HTTP status. description is connkit's own text, the only one a custom
	// failure redirect carries; provider is the provider's
	// error_description (redacted, see TokenError), shown on connkit's
	// page and written to the connection's log, or "".
	status      int
	code        string
	description string
	provider    string
	// res, connID and ref are known once the state identified the
	// connection; res is nil when it could not be resolved.
	res    *template.Resolution
	connID string
	ref    connection.Ref
	// state is the response's well-formed state, "" when it had none.
	state string
}

func (o *outcome) failed() bool { return o.code != "" }

// ServeHTTP is the OAuth 2.0 callback (redirection endpoint) handler. Mount
// it at the path of FlowConfig.RedirectURL. It accepts GET only.
//
// It consumes the response's state (single use: an unknown, expired or
// replayed state fails), checks iss (RFC 9207) when present or announced,
// requires the browser-binding cookie of a CONNECT begun with
// [Flow.StartRedirect] (and refuses a CONNECT begun without binding unless
// FlowConfig.AllowUnboundConnect is set), handles the provider's error,
// exchanges the code at
// the token URL
// recorded when the flow started (refusing with an [*EndpointChangedError]
// when the connection's values name another one by now) with the PKCE
// verifier and the same redirect URI, stores the token set sealed, bound to
// that token URL and the connection's revocation URL (refresh and
// revocation use these, see [EndpointChangedError]), with the type's extra
// token response fields and callback parameters in the connection's
// metadata, sets
// the connection's status to configured, logs, and schedules refreshes. A
// failure never writes credentials and never replaces a working token set;
// it is written to the connection's log with the provider's error code and
// description (the request's secrets redacted, see [TokenError]) whenever
// the connection is known.
//
// It answers with a 303 to the variable's custom success or failure
// redirect (with the Redirect* query parameters) when there is one, and
// otherwise with a small self-contained HTML page. A failure redirect
// carries the error code and connkit's own description of the failure,
// never the provider's description: the redirect goes to another site,
// and what the provider wrote is outside connkit's control. Every answer carries
// Referrer-Policy: no-referrer and Cache-Control: no-store.
func (f *Flow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCallbackHeaders(w.Header())
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writePage(w, http.StatusMethodNotAllowed, "invalid_request", "The callback accepts GET requests only.")
		return
	}
	// Once the state is consumed, the work must finish even if the browser
	// goes away: the code cannot be used twice.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), callbackTimeout)
	defer cancel()
	o := f.callback(ctx, r.URL.RawQuery, func(name string) string {
		if c, err := r.Cookie(name); err == nil {
			return c.Value
		}
		return ""
	})
	if o.state != "" {
		// The browser-binding cookie of this CONNECT has served its purpose.
		if c := f.bindingCookie(o.state, "", -1); hasCookie(r, c.Name) {
			http.SetCookie(w, c)
		}
	}
	if loc := customRedirect(o.res, o.connID, o.ref, o.failed(), o.code, o.description); loc != "" {
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if o.failed() {
		desc := o.description
		if o.provider != "" {
			desc = o.provider
		}
		writePage(w, o.status, o.code, desc)
		return
	}
	writePage(w, http.StatusOK, "", "")
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

// callback handles the authorization response raw; cookie returns the
// value of the request's cookie with the given name, "" when absent.
func (f *Flow) callback(ctx context.Context, raw string, cookie func(name string) string) outcome {
	q, perr := parseCallback(raw)
	if q.state == "" {
		f.logger.WarnContext(ctx, "connkit: OAuth callback rejected", "reason", perr)
		return outcome{status: http.StatusBadRequest, code: "invalid_request",
			description: "The authorization response is malformed or carries no valid state. Start connecting again."}
	}
	// Expiry is the store's to decide, by its clock (see
	// FlowConfig.StateTTL), not by this replica's.
	p, err := f.store.ConsumePending(ctx, hashState(q.state))
	if err != nil {
		o := f.stateFailure(ctx, q.state, err)
		o.state = q.state
		return o
	}
	o := outcome{connID: p.ConnectionID, ref: p.Ref, state: q.state}
	res, err := f.resolver.Resolve(ctx, p.Ref)
	if err != nil {
		f.fail(ctx, &o, http.StatusInternalServerError, "server_error", "The connection could not be loaded.", "resolve", err)
		return o
	}
	o.res = res
	// RFC 9207 section 2.4: check iss before anything else in the response.
	switch {
	case q.hasIss && p.Issuer != "" && q.iss != p.Issuer:
		f.fail(ctx, &o, http.StatusBadRequest, "invalid_request",
			"The authorization response comes from another issuer than the one the request was sent to.", "issuer",
			fmt.Errorf("iss %q, expected %q: %w", sanitize(q.iss, 256), p.Issuer, ErrIssuerMismatch))
		return o
	case !q.hasIss && p.Data[pendingIssRequired] == "true":
		f.fail(ctx, &o, http.StatusBadRequest, "invalid_request",
			"The authorization response lacks the iss parameter its server announces.", "issuer",
			fmt.Errorf("no iss, expected %q: %w", p.Issuer, ErrIssuerMismatch))
		return o
	}
	// RFC 9700 section 4.7: a CONNECT bound to a browser completes only
	// in that browser, and unless the flow allows unbound CONNECTs, every
	// CONNECT must be bound.
	if p.Data[pendingBrowser] == "" && !f.allowUnbound {
		f.fail(ctx, &o, http.StatusBadRequest, "invalid_request",
			"The authorization was not started in this browser. Start connecting again.", "browser", ErrUnboundConnect)
		return o
	}
	if want := p.Data[pendingBrowser]; want != "" {
		got := ""
		if v := cookie(f.bindingCookie(q.state, "", 0).Name); v != "" {
			got = hashState(v)
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			f.fail(ctx, &o, http.StatusBadRequest, "invalid_request",
				"The authorization was completed in another browser than the one that started it. Start connecting again.", "browser", nil)
			return o
		}
	}
	if perr != nil {
		f.fail(ctx, &o, http.StatusBadRequest, "invalid_request", "The authorization response is malformed.", "callback", perr)
		return o
	}
	if q.errCode != "" {
		f.failWith(ctx, &o, http.StatusBadRequest, q.errCode, "The provider refused the authorization.", q.errDesc, "authorize", nil)
		return o
	}
	f.exchange(ctx, &o, p, q)
	return o
}

// stateFailure handles a state without a pending authorization: unknown,
// expired or already used. The connection sealed in the state, when it
// opens, gets the log entry and its failure redirect.
func (f *Flow) stateFailure(ctx context.Context, state string, cause error) outcome {
	o := outcome{status: http.StatusBadRequest, code: "invalid_request",
		description: "The authorization request is unknown, has expired or was already used. Start connecting again."}
	if !errors.Is(cause, store.ErrNotFound) {
		o.status, o.code, o.description = http.StatusInternalServerError, "server_error", "The authorization request could not be read."
	}
	connID := stateConnection(f.sealer, state)
	if connID == "" {
		f.logger.WarnContext(ctx, "connkit: OAuth callback with unknown state", "error", cause)
		return o
	}
	c, err := f.store.GetConnectionByID(ctx, connID)
	if err != nil {
		f.logger.WarnContext(ctx, "connkit: OAuth callback for a vanished connection", "connection", connID, "error", cause)
		return o
	}
	o.connID, o.ref = connID, c.Ref
	if res, err := f.resolver.Resolve(ctx, c.Ref); err == nil {
		o.res = res
	}
	f.fail(ctx, &o, o.status, o.code, o.description, "state", cause)
	return o
}

// exchange trades the code for a token set and stores it.
func (f *Flow) exchange(ctx context.Context, o *outcome, p *store.PendingAuth, q callbackQuery) {
	typ := o.res.Variable.Type
	if typ.OAuth2 == nil || typ.OAuth2.GrantOrDefault() != connection.GrantAuthorizationCode {
		f.fail(ctx, o, http.StatusBadRequest, "server_error", "The connection no longer uses the authorization code grant.", "exchange", ErrMisconfigured)
		return
	}
	values := o.res.Values.Clone()
	if values.String(connection.FieldTokenURL) == "" {
		values.Set(connection.FieldTokenURL, p.TokenURL)
	}
	if values.String(connection.FieldAuthorizeURL) == "" {
		values.Set(connection.FieldAuthorizeURL, p.Data[pendingAuthorizeURL])
	}
	// A revocation URL discovered at start is not discovered again here.
	if values.String(connection.FieldRevokeURL) == "" && p.Data[pendingRevokeURL] != "" {
		values.Set(connection.FieldRevokeURL, p.Data[pendingRevokeURL])
	}
	// The same checks as at start (origin of the URLs and the client
	// secret, https): values may have changed since.
	ep, err := endpointFrom(o.res, &typ, values, p.RedirectURI, f.allowPrivate)
	if err != nil {
		f.fail(ctx, o, http.StatusBadRequest, "server_error", "The connection's OAuth 2.0 settings are incomplete or unsafe.", "exchange", err)
		return
	}
	// The code goes to the token URL the flow started against, and only
	// while the values still name it: the token set is bound to it (see
	// pin.go), and a set bound to a URL the values no longer name could not
	// be refreshed.
	if ep.TokenURL() != p.TokenURL {
		err := &EndpointChangedError{Ref: p.Ref, Field: connection.FieldTokenURL, Connected: p.TokenURL, Current: ep.TokenURL()}
		f.fail(ctx, o, http.StatusBadRequest, "server_error",
			"The connection's token URL changed while connecting. Start connecting again.", "exchange", err)
		return
	}
	var verifier string
	if p.Verifier != nil {
		b, err := f.sealer.Open(p.Verifier, store.AssociatedData("pending", p.StateHash, "verifier"))
		if err != nil {
			f.fail(ctx, o, http.StatusInternalServerError, "server_error", "The authorization request could not be read.", "exchange", err)
			return
		}
		verifier = string(b)
	}
	tok, ot, err := ep.withClock(f.now).Exchange(ctx, f.client, q.code, verifier)
	if err != nil {
		code, desc, provider := "server_error", "The token endpoint could not be reached or answered unexpectedly.", ""
		if te, ok := errors.AsType[*TokenError](err); ok && te.Code != "" {
			code, desc, provider = te.Code, "The token endpoint refused the authorization code.", te.Description
		}
		f.failWith(ctx, o, http.StatusBadGateway, code, desc, provider, "exchange", err)
		return
	}
	meta := ep.ExtraFields(ot)
	for _, k := range typ.OAuth2.CallbackParams {
		if v := sanitize(q.params.Get(k), 256); v != "" {
			if meta == nil {
				meta = make(map[string]string)
			}
			meta[k] = v
		}
	}
	if _, err := f.saveToken(ctx, p.ConnectionID, p.Ref, typ.OAuth2, tok, meta); err != nil {
		f.fail(ctx, o, http.StatusInternalServerError, "server_error", "The connection could not be saved.", "store", err)
		return
	}
	if f.scheduler != nil {
		if tok.RefreshToken.IsZero() {
			f.scheduler.Unschedule(p.ConnectionID)
		} else {
			f.scheduler.Schedule(p.ConnectionID, p.Ref, tok.Expiry)
		}
	}
	attrs := tokenAttrs(tok)
	if len(meta) > 0 {
		attrs["metadata"] = sanitize(joinSorted(meta), 512)
	}
	f.journal.record(ctx, p.ConnectionID, p.Ref, slog.LevelInfo, EventConnected, "connected", attrs)
}

// fail records a failed callback in o, in the connection's log and, for a
// connection without a token set, in its status. description is connkit's
// own text.
func (f *Flow) fail(ctx context.Context, o *outcome, status int, code, description, stage string, cause error) {
	f.failWith(ctx, o, status, code, description, "", stage, cause)
}

// failWith is fail for a failure the provider described: provider is its
// error_description (already redacted when it came from the token
// endpoint), for the page and the log, never for a custom redirect.
func (f *Flow) failWith(ctx context.Context, o *outcome, status int, code, description, provider, stage string, cause error) {
	o.status, o.code, o.description = status, sanitize(code, 64), sanitize(description, maxDescription)
	o.provider = sanitize(provider, maxDescription)
	if o.code == "" {
		o.code = "server_error"
	}
	if o.connID == "" {
		f.logger.WarnContext(ctx, "connkit: OAuth callback failed", "stage", stage, "error", o.code)
		return
	}
	attrs := map[string]string{"stage": stage, "error": o.code, "error_description": o.description}
	if o.provider != "" {
		attrs["error_description"] = o.provider
	}
	if cause != nil {
		if ec, ok := errors.AsType[*EndpointChangedError](cause); ok {
			ec.attrs(attrs)
		}
		attrs["detail"] = sanitize(cause.Error(), 512)
		if te, ok := errors.AsType[*TokenError](cause); ok && te.StatusCode != 0 {
			attrs["http_status"] = fmt.Sprint(te.StatusCode)
		}
	}
	f.journal.record(ctx, o.connID, o.ref, slog.LevelWarn, EventConnectFailed, "CONNECT failed", attrs)
	f.markFailed(ctx, o.connID, "connect failed: "+o.code)
}

// joinSorted lists the keys of m for a log, never values.
func joinSorted(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += ","
		}
		out += k
	}
	return out
}
