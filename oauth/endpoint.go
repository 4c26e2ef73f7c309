package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// Endpoint is one connection's resolved OAuth 2.0 client: the type's settings
// with the connection's client id, secret, URLs and scopes filled in from its
// resolved values. It is immutable.
//
// [Flow] and [Tokens] build their endpoints themselves, with every check
// (see [NewEndpoint]); an Endpoint a host builds with NewEndpoint is for
// calling a provider directly (tests, tools, hosts that run a grant
// themselves), and its URLs are whatever values it was given.
type Endpoint struct {
	settings     *connection.OAuth2
	clientID     string
	clientSecret connection.Secret
	authorizeURL string
	tokenURL     string
	revokeURL    string
	scopes       []string
	redirectURL  string
	now          func() time.Time // the clock stamping token sets; nil: time.Now
	// pin: token sets obtained are bound to tokenURL and revokeURL (see
	// pin.go). Set for the endpoints the flows and token sources build
	// (endpointFrom), not for those a host builds with NewEndpoint.
	pin bool
}

// withClock returns a copy of e that stamps the token sets it obtains with
// now's time (the Flow's or Tokens' configured clock).
func (e *Endpoint) withClock(now func() time.Time) *Endpoint {
	c := *e
	c.now = now
	return &c
}

// clock reads e's clock: the one set with withClock, else time.Now.
func (e *Endpoint) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

// tokenFrom converts a token endpoint answer, stamped by e's clock and, for
// an endpoint of the flows, bound to e's token and revocation URLs (see
// pin.go). x/oauth2 sets the Expiry of an answer with expires_in by
// time.Now; it is moved to e's clock.
func (e *Endpoint) tokenFrom(ot *oauth2.Token, oldRefresh connection.Secret) Token {
	var tok Token
	if e.now == nil {
		tok = tokenFromOAuth2(ot, time.Now(), e.settings.LifetimeOrDefault(), oldRefresh)
	} else {
		now := e.now()
		t := *ot
		if !t.Expiry.IsZero() {
			t.Expiry = now.Add(time.Until(t.Expiry))
		}
		tok = tokenFromOAuth2(&t, now, e.settings.LifetimeOrDefault(), oldRefresh)
	}
	if e.pin {
		tok.pins = e.pins()
	}
	return tok
}

// NewEndpoint resolves typ's OAuth 2.0 settings against values (the
// connection's effective values) and the host's redirect URL, filling URL
// templates in with [connection.ExpandURL]. It fails with ErrMisconfigured
// when the type has no OAuth 2.0 settings, a required URL or the client id
// is missing, or a URL template cannot be filled in (the error then wraps
// the *connection.ValidationError naming the field).
//
// NewEndpoint does NOT apply connkit's safety checks on where credentials
// go. Those run only inside [Flow] and [Tokens], which never use an
// Endpoint from NewEndpoint:
//
//   - no origin check: values carry no sources, so NewEndpoint cannot
//     tell a URL the customer or an integration builder chose from the
//     host's, and sends the client secret, codes, verifiers and tokens to
//     whatever URLs values give ("Who may choose the endpoints" in the
//     package documentation);
//   - no scheme check: plain-http URLs, and URLs with user information,
//     are used as given;
//   - no pinning: token sets it obtains are bound to no URL (see
//     [SealToken]).
//
// So never pass it values a customer or a builder can set without checking
// their URLs yourself; the SSRF guard of the *http.Client its methods are
// given ([NewHTTPClient]) still applies.
func NewEndpoint(typ *connection.Type, values connection.Values, redirectURL string) (*Endpoint, error) {
	o := typ.OAuth2
	if o == nil {
		return nil, refused(fmt.Sprintf("type %q has no OAuth 2.0 settings", typ.Key),
			fmt.Errorf("oauth: type %q has no OAuth 2.0 settings: %w", typ.Key, ErrMisconfigured))
	}
	e := &Endpoint{
		settings:     o,
		clientID:     values.String(connection.FieldClientID),
		clientSecret: values.Secret(connection.FieldClientSecret),
		authorizeURL: orDefault(values.String(connection.FieldAuthorizeURL), o.AuthorizeURL),
		tokenURL:     orDefault(values.String(connection.FieldTokenURL), o.TokenURL),
		revokeURL:    orDefault(values.String(connection.FieldRevokeURL), o.RevokeURL),
		scopes:       slices.Clone(o.Scopes),
		redirectURL:  redirectURL,
	}
	if o.ScopesOverridable {
		if s, ok := values.Lookup(connection.FieldScopes); ok {
			e.scopes = splitScopes(s)
		}
	}
	// Tenant-specific URLs ("https://{shop}.myshopify.com/...") are filled
	// in only with values that are single DNS labels.
	for i, u := range []*string{&e.authorizeURL, &e.tokenURL, &e.revokeURL} {
		expanded, err := connection.ExpandURL(*u, typ, values)
		if err != nil {
			return nil, refused("the "+endpointFields[i].name+" template cannot be filled in: "+problems(err),
				fmt.Errorf("oauth: type %q: %w: %w", typ.Key, ErrMisconfigured, err))
		}
		*u = expanded
	}
	var missing []string
	if e.clientID == "" {
		missing = append(missing, connection.FieldClientID)
	}
	if e.tokenURL == "" {
		missing = append(missing, connection.FieldTokenURL)
	}
	if o.GrantOrDefault() == connection.GrantAuthorizationCode && e.authorizeURL == "" {
		missing = append(missing, connection.FieldAuthorizeURL)
	}
	if len(missing) > 0 {
		return nil, refused("no value for "+strings.Join(missing, ", "),
			fmt.Errorf("oauth: type %q: no value for %s: %w", typ.Key, strings.Join(missing, ", "), ErrMisconfigured))
	}
	return e, nil
}

// endpointFields are the value keys of the endpoints an Endpoint sends
// requests (and, for the token and revocation endpoints, the client secret,
// codes, verifiers and tokens) to.
var endpointFields = [...]struct{ key, name string }{
	{connection.FieldAuthorizeURL, "authorize URL"},
	{connection.FieldTokenURL, "token URL"},
	{connection.FieldRevokeURL, "revoke URL"},
}

// endpointFor builds the endpoint of a resolved connection from its type
// and values. It is the only way the flows and token sources build one:
// CONNECT (start and callback), refresh, the client credentials grant,
// revocation (DISCONNECT) and endpoints filled from discovered metadata all
// go through it, so none of them can skip its checks:
//
//   - NewEndpoint's: OAuth 2.0 settings, client id and URLs present, URL
//     templates filled in with single DNS labels;
//   - the origin check (checkOrigin, origin.go): an endpoint URL comes from
//     the layer that gives the client secret or one below it, and one the
//     customer set only with the customer's own secret;
//   - the scheme check (checkEndpointURL): every URL used is absolute,
//     without user information, and https (http only with allowPrivate, or
//     to a loopback host, where it never leaves the machine).
//
// Every failure is a *refusal matching ErrMisconfigured.
func endpointFor(res *template.Resolution, redirectURL string, allowPrivate bool) (*Endpoint, error) {
	return endpointFrom(res, &res.Variable.Type, res.Values, redirectURL, allowPrivate)
}

// endpointFrom is endpointFor over a type and values derived from res's:
// the flows fill empty endpoint values from discovered metadata (or, in the
// callback, from the pending authorization) and adjust the PKCE method
// first. Only empty values are filled, so res.Sources still tells where
// every value a customer could have set came from.
func endpointFrom(res *template.Resolution, typ *connection.Type, values connection.Values, redirectURL string, allowPrivate bool) (*Endpoint, error) {
	if err := checkOrigin(res, values); err != nil {
		return nil, err
	}
	ep, err := NewEndpoint(typ, values, redirectURL)
	if err != nil {
		return nil, fmt.Errorf("oauth: connection %s: %w", res.Ref, err)
	}
	if typ.OAuth2.GrantOrDefault() == connection.GrantAuthorizationCode {
		if err := checkEndpointURL("authorize URL", ep.authorizeURL, allowPrivate); err != nil {
			return nil, fmt.Errorf("oauth: connection %s: %w", res.Ref, err)
		}
	}
	if err := checkEndpointURL("token URL", ep.tokenURL, allowPrivate); err != nil {
		return nil, fmt.Errorf("oauth: connection %s: %w", res.Ref, err)
	}
	if ep.revokeURL != "" {
		if err := checkEndpointURL("revoke URL", ep.revokeURL, allowPrivate); err != nil {
			return nil, fmt.Errorf("oauth: connection %s: %w", res.Ref, err)
		}
	}
	ep.pin = true
	return ep, nil
}

// refusal is a configuration connkit refused by itself, before sending
// anything anywhere: an endpoint that cannot be built (no OAuth 2.0
// settings, a missing client id or URL, a URL template that cannot be
// filled in), the origin check and the URL checks of endpointFor. It is
// told apart from a provider's refusal (a *TokenError) in what a failed
// refresh reports (see providerFailed). Its message is err's; it matches
// what err matches (ErrMisconfigured).
type refusal struct {
	// reason says what was refused, short and without any value of the
	// connection: it ends the connection's status reason.
	reason string
	err    error
}

func refused(reason string, err error) error { return &refusal{reason: reason, err: err} }

func (e *refusal) Error() string { return e.err.Error() }
func (e *refusal) Unwrap() error { return e.err }

// problems lists the problems of a *connection.ValidationError in err by
// key and reason (never a value), or is err's sanitized text.
func problems(err error) string {
	ve, ok := errors.AsType[*connection.ValidationError](err)
	if !ok || len(ve.Problems) == 0 {
		return sanitize(err.Error(), 200)
	}
	parts := make([]string, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		parts = append(parts, p.Key+": "+p.Reason)
	}
	return sanitize(strings.Join(parts, "; "), 200)
}

// checkEndpointURL refuses endpoint URLs that would send credentials in the
// clear or are not usable URLs: a URL must be absolute, have a host and no
// user information, and use https; http only when allowPrivate, or to a
// loopback host (localhost or a loopback address: the request never leaves
// the machine, and the SSRF guard still decides whether it may be made).
func checkEndpointURL(name, s string, allowPrivate bool) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return refused("the "+name+" is not an absolute URL", fmt.Errorf("oauth: %s is not an absolute URL: %w", name, ErrMisconfigured))
	}
	if u.User != nil {
		return refused("the "+name+" must not contain user information", fmt.Errorf("oauth: %s must not contain user information: %w", name, ErrMisconfigured))
	}
	if u.Scheme == "https" || (u.Scheme == "http" && (allowPrivate || isLoopbackHost(u.Hostname()))) {
		return nil
	}
	return refused("the "+name+" must use https", fmt.Errorf("oauth: %s must use https: %w", name, ErrMisconfigured))
}

func orDefault(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

// splitScopes splits a scope string on spaces and commas.
func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// Settings returns a copy of the type's OAuth 2.0 settings; changing it
// does not change the endpoint.
func (e *Endpoint) Settings() *connection.OAuth2 { return e.settings.Clone() }

// TokenURL returns the token endpoint.
func (e *Endpoint) TokenURL() string { return e.tokenURL }

// AuthorizeURL returns the authorization endpoint.
func (e *Endpoint) AuthorizeURL() string { return e.authorizeURL }

// RevokeURL returns the revocation endpoint, "" when there is none.
func (e *Endpoint) RevokeURL() string { return e.revokeURL }

// Scopes returns the scopes to request.
func (e *Endpoint) Scopes() []string { return slices.Clone(e.scopes) }

// oauth2Config returns the x/oauth2 configuration. It holds the client
// secret in plaintext, so it never leaves the package (an *oauth2.Config
// prints its ClientSecret). Scopes are left out and sent as one "scope"
// parameter joined with the type's separator (see AuthCodeURL).
func (e *Endpoint) oauth2Config() *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	// A public client (no secret) does not authenticate: it identifies
	// itself with client_id in the form (RFC 6749 section 4.1.3), never with
	// a Basic header holding an empty password.
	if e.settings.ClientAuthOrDefault() == connection.ClientAuthBody || e.clientSecret.IsZero() {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     e.clientID,
		ClientSecret: e.clientSecret.Reveal(),
		Endpoint:     oauth2.Endpoint{AuthURL: e.authorizeURL, TokenURL: e.tokenURL, AuthStyle: style},
		RedirectURL:  e.redirectURL,
	}
}

// AuthCodeURL returns the authorize URL for state, with the PKCE challenge of
// verifier ("" for none), the scopes joined with the type's separator and the
// type's extra authorize parameters.
func (e *Endpoint) AuthCodeURL(state, verifier string) string {
	opts := make([]oauth2.AuthCodeOption, 0, 4+len(e.settings.AuthorizeParams))
	for _, k := range sortedKeys(e.settings.AuthorizeParams) {
		opts = append(opts, oauth2.SetAuthURLParam(k, e.settings.AuthorizeParams[k]))
	}
	if len(e.scopes) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("scope", strings.Join(e.scopes, e.settings.SeparatorOrDefault())))
	}
	switch {
	case verifier == "":
	case e.settings.PKCEOrDefault() == connection.PKCEPlain:
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
	default:
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	return e.oauth2Config().AuthCodeURL(state, opts...)
}

func (e *Endpoint) tokenParams() []oauth2.AuthCodeOption {
	opts := make([]oauth2.AuthCodeOption, 0, len(e.settings.TokenParams)+1)
	for _, k := range sortedKeys(e.settings.TokenParams) {
		opts = append(opts, oauth2.SetAuthURLParam(k, e.settings.TokenParams[k]))
	}
	return opts
}

// Exchange trades an authorization code (and the PKCE verifier, "" for none)
// for a token set, through client. A response without expires_in gets the
// type's default lifetime. For a type with a TokenPath, the token set is
// read from that nested object (see connection.OAuth2.TokenPath); so it is
// in Refresh and ClientCredentials.
func (e *Endpoint) Exchange(ctx context.Context, client *http.Client, code, verifier string) (Token, *oauth2.Token, error) {
	opts := e.tokenParams()
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	ot, err := e.oauth2Config().Exchange(withClient(ctx, e.tokenClient(client)), code, opts...)
	if err != nil {
		return Token{}, nil, tokenError("exchange", err, e.secretForms(connection.NewSecret(code), connection.NewSecret(verifier)), e.clock())
	}
	return e.tokenFrom(ot, connection.Secret{}), ot, nil
}

// Refresh uses refresh to obtain a new token set through client. A response
// without refresh_token keeps refresh; one without expires_in gets the type's
// default lifetime.
func (e *Endpoint) Refresh(ctx context.Context, client *http.Client, refresh connection.Secret) (Token, *oauth2.Token, error) {
	if refresh.IsZero() {
		return Token{}, nil, &TokenError{Op: "refresh", Code: "invalid_grant", Description: "no refresh token"}
	}
	// An expired token with only a refresh token makes x/oauth2 refresh.
	old := &oauth2.Token{RefreshToken: refresh.Reveal(), Expiry: time.Unix(1, 0)}
	ot, err := e.oauth2Config().TokenSource(withClient(ctx, e.tokenClient(client)), old).Token()
	if err != nil {
		return Token{}, nil, tokenError("refresh", err, e.secretForms(refresh), e.clock())
	}
	return e.tokenFrom(ot, refresh), ot, nil
}

// ClientCredentials obtains a token set with the client credentials grant.
func (e *Endpoint) ClientCredentials(ctx context.Context, client *http.Client) (Token, *oauth2.Token, error) {
	cfg := e.oauth2Config()
	cc := &clientcredentials.Config{
		ClientID:       cfg.ClientID,
		ClientSecret:   cfg.ClientSecret,
		TokenURL:       cfg.Endpoint.TokenURL,
		AuthStyle:      cfg.Endpoint.AuthStyle,
		Scopes:         nil,
		EndpointParams: map[string][]string{},
	}
	for k, v := range e.settings.TokenParams {
		cc.EndpointParams[k] = []string{v}
	}
	if len(e.scopes) > 0 {
		cc.EndpointParams["scope"] = []string{strings.Join(e.scopes, e.settings.SeparatorOrDefault())}
	}
	ot, err := cc.Token(withClient(ctx, e.tokenClient(client)))
	if err != nil {
		return Token{}, nil, tokenError("client_credentials", err, e.secretForms(), e.clock())
	}
	return e.tokenFrom(ot, connection.Secret{}), ot, nil
}

// secretForms are the forms of the client secret and of the request's other
// secrets that are redacted from the provider's error text (see
// secretForms in errors.go).
func (e *Endpoint) secretForms(others ...connection.Secret) []string {
	return secretForms(e.clientID, e.clientSecret, others...)
}

// withClient hands client to x/oauth2 through its documented context key.
// It is the only context value connkit sets, and only for x/oauth2's sake.
func withClient(ctx context.Context, client *http.Client) context.Context {
	if client == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, client)
}

// ExtraFields returns the token response fields the type keeps
// (TokenResponseFields) that are present in ot as strings.
func (e *Endpoint) ExtraFields(ot *oauth2.Token) map[string]string {
	if ot == nil || len(e.settings.TokenResponseFields) == 0 {
		return nil
	}
	out := make(map[string]string)
	for _, k := range e.settings.TokenResponseFields {
		switch v := ot.Extra(k).(type) {
		case string:
			if v != "" {
				out[k] = v
			}
		case float64, bool:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
