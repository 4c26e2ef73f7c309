package oauthtest

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of the server's endpoints, relative to [Server.URL]. [Server.Calls]
// takes them as keys.
const (
	PathAuthorize = "/authorize"
	PathToken     = "/token"
	PathRevoke    = "/revoke"
	PathMetadata  = "/.well-known/oauth-authorization-server"
	PathResource  = "/api/me"
)

// Grant types the token endpoint understands. [Server.GrantCalls] and
// [Fault.GrantType] take them.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// UnstartedURL is the base URL of a server made by [NewUnstarted]. Nothing
// listens there; only [Server.Transport] and [Server.Client] reach it.
const UnstartedURL = "https://oauthtest.example"

// AuthStyle is how a confidential client must authenticate to the token and
// revocation endpoints.
type AuthStyle int

const (
	// AuthStyleAny accepts HTTP Basic or form body credentials (but not both
	// in one request).
	AuthStyleAny AuthStyle = iota
	// AuthStyleHeader accepts only HTTP Basic (client_secret_basic): a
	// secret in the form body is invalid_client.
	AuthStyleHeader
	// AuthStyleBody accepts only client_id and client_secret form fields
	// (client_secret_post): HTTP Basic is invalid_client.
	AuthStyleBody
)

// String returns the RFC 8414 name of the style, or "any".
func (a AuthStyle) String() string {
	switch a {
	case AuthStyleHeader:
		return "client_secret_basic"
	case AuthStyleBody:
		return "client_secret_post"
	default:
		return "any"
	}
}

// Client is a registered OAuth client.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret. Empty makes a public client, which
	// identifies itself with client_id alone and presents no secret.
	Secret string
	// RedirectURIs are the registered redirect URIs. An authorization
	// request's redirect_uri must equal one of them exactly; it may be
	// omitted only when exactly one is registered.
	RedirectURIs []string
	// AuthStyle is how the client must authenticate when it has a secret.
	AuthStyle AuthStyle
}

// Consent is what the authorization endpoint does with a valid request.
type Consent int

const (
	// ConsentApprove redirects at once to the redirect URI with a code, as
	// if the user had approved.
	ConsentApprove Consent = iota
	// ConsentDeny redirects with error=access_denied.
	ConsentDeny
	// ConsentInvalidScope redirects with error=invalid_scope.
	ConsentInvalidScope
	// ConsentForm serves a small HTML consent page whose form POSTs back to
	// the authorization endpoint with action=approve or action=deny.
	// [Server.Authorize] submits it with action=approve.
	ConsentForm
)

// Config configures a [Server]. The zero value works: it has no clients,
// so register some in Clients.
type Config struct {
	// Clients are the registered clients.
	Clients []Client

	// Now is the server's clock; nil means time.Now (which inside a
	// testing/synctest bubble is the bubble's fake clock).
	Now func() time.Time

	// Issuer overrides the issuer identifier announced in the metadata and
	// in the iss authorization response parameter. Empty means [Server.URL].
	// Setting it to a wrong value simulates a mix-up attack.
	Issuer string
	// IssParameter adds iss to every authorization response (RFC 9207) and
	// announces authorization_response_iss_parameter_supported.
	IssParameter bool
	// ExtraCallbackParams are added to successful authorization responses,
	// for example {"realmId": "123"} like QuickBooks.
	ExtraCallbackParams map[string]string
	// Consent is the initial consent behaviour; see [Server.SetConsent].
	Consent Consent
	// DenyDescription is the error_description of a denial; empty means
	// "The user denied access".
	DenyDescription string
	// Scopes, when non-empty, are the only scopes that may be requested;
	// others get invalid_scope. Empty accepts any scope.
	Scopes []string
	// RequirePKCE rejects authorization requests without code_challenge.
	RequirePKCE bool

	// CodeTTL is how long an authorization code is valid; 0 means 10
	// minutes.
	CodeTTL time.Duration
	// AccessTokenTTL is how long access tokens are valid; 0 means one hour,
	// a negative value means they never expire (and expires_in is omitted).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long refresh tokens are valid; 0 means they
	// never expire.
	RefreshTokenTTL time.Duration
	// OmitExpiresIn leaves expires_in out of token responses. The token
	// still expires after AccessTokenTTL, as with providers that do not say.
	OmitExpiresIn bool
	// OmitRefreshToken issues no refresh token for the authorization code
	// grant.
	OmitRefreshToken bool
	// OmitScope leaves scope out of token responses; otherwise the granted
	// scope is echoed.
	OmitScope bool
	// RotateRefreshTokens issues a new refresh token on every refresh and
	// marks the presented one used. Presenting a used refresh token again
	// is reuse: the whole grant (every access and refresh token descending
	// from the same authorization) is revoked, the request gets
	// invalid_grant and [Server.ReuseDetections] counts it. Without
	// rotation a refresh response carries no refresh_token and the old one
	// stays valid.
	RotateRefreshTokens bool
	// RevokeAccessTokenOnRefresh revokes the grant's earlier access tokens
	// when a refresh issues a new one, as some providers do.
	RevokeAccessTokenOnRefresh bool
	// ExtraTokenFields are added to every successful token response, for
	// example {"instance_url": "https://na1.example"} like Salesforce.
	ExtraTokenFields map[string]any
	// TokenResponse, if set, may change every successful token response
	// body before it is encoded, for example to nest the token inside an
	// "authed_user" object like Slack.
	TokenResponse func(grantType string, body map[string]any)
	// Metadata, if set, may change the metadata document before it is
	// encoded.
	Metadata func(doc map[string]any)
	// Intercept, if set, sees every request first (after it is counted);
	// returning true means it wrote the response and the server does
	// nothing more. It may read r.Body only if it then returns true.
	Intercept func(w http.ResponseWriter, r *http.Request) bool
}

// Server is a running fake authorization server. Make one with [New] or
// [NewUnstarted].
type Server struct {
	cfg     Config
	url     string
	host    string
	ts      *httptest.Server // nil for NewUnstarted
	handler http.Handler
	client  *http.Client
	done    chan struct{} // closed on cleanup; releases hanging requests
	once    sync.Once

	mu    sync.Mutex
	state state
}

// TB is the part of testing.TB the constructors use; *testing.T,
// *testing.B and *testing.F satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
}

var _ TB = testing.TB(nil)

// New starts a server on a loopback address with httptest and closes it
// when the test ends (t.Cleanup).
func New(t TB, cfg Config) *Server {
	t.Helper()
	s := newServer(cfg)
	s.ts = httptest.NewServer(s.handler)
	s.setURL(s.ts.URL)
	s.client = &http.Client{
		Transport:     s.ts.Client().Transport,
		CheckRedirect: noRedirect,
	}
	t.Cleanup(func() {
		s.release()
		s.ts.Close()
	})
	return s
}

// NewUnstarted makes a server that listens on nothing: its base URL is
// [UnstartedURL] and it is reached only through [Server.Transport],
// [Server.Client] or [Server.Handler]. No goroutine or socket is involved,
// so it can be made and used inside a testing/synctest bubble. Hanging
// requests are released when the test ends.
func NewUnstarted(t TB, cfg Config) *Server {
	t.Helper()
	s := newServer(cfg)
	s.setURL(UnstartedURL)
	s.client = &http.Client{Transport: s.Transport(), CheckRedirect: noRedirect}
	t.Cleanup(s.release)
	return s
}

func newServer(cfg Config) *Server {
	// Copy what the caller could still change under our feet.
	cfg.Clients = slices.Clone(cfg.Clients)
	for i := range cfg.Clients {
		cfg.Clients[i].RedirectURIs = slices.Clone(cfg.Clients[i].RedirectURIs)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	cfg.ExtraCallbackParams = maps.Clone(cfg.ExtraCallbackParams)
	cfg.ExtraTokenFields = maps.Clone(cfg.ExtraTokenFields)
	s := &Server{cfg: cfg, done: make(chan struct{})}
	s.state.init(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc(PathAuthorize, s.serveAuthorize)
	mux.HandleFunc(PathToken, s.serveToken)
	mux.HandleFunc(PathRevoke, s.serveRevoke)
	mux.HandleFunc(PathMetadata, s.serveMetadata)
	mux.HandleFunc(PathResource, s.serveResource)
	s.handler = s.count(mux)
	return s
}

func (s *Server) setURL(u string) {
	s.url = strings.TrimSuffix(u, "/")
	pu, err := url.Parse(s.url)
	if err != nil {
		panic("oauthtest: bad server URL " + u)
	}
	s.host = pu.Host
}

func (s *Server) release() { s.once.Do(func() { close(s.done) }) }

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// count counts the call and gives Intercept its chance.
func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.state.calls[r.URL.Path]++
		s.mu.Unlock()
		if f := s.cfg.Intercept; f != nil && f(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// URL is the server's base URL, without a trailing slash.
func (s *Server) URL() string { return s.url }

// AuthorizeURL is the authorization endpoint.
func (s *Server) AuthorizeURL() string { return s.url + PathAuthorize }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.url + PathToken }

// RevokeURL is the revocation endpoint.
func (s *Server) RevokeURL() string { return s.url + PathRevoke }

// MetadataURL is where the RFC 8414 metadata document is served.
func (s *Server) MetadataURL() string { return s.url + PathMetadata }

// ResourceURL is the protected resource that answers 200 to a valid Bearer
// access token and 401 otherwise.
func (s *Server) ResourceURL() string { return s.url + PathResource }

// Issuer is the issuer identifier: [Config.Issuer], or [Server.URL].
func (s *Server) Issuer() string {
	if s.cfg.Issuer != "" {
		return s.cfg.Issuer
	}
	return s.url
}

// Handler is the server's HTTP handler, for serving it some other way.
func (s *Server) Handler() http.Handler { return s.handler }

// Client returns an *http.Client that reaches the server (over loopback
// for [New], in memory for [NewUnstarted]). It does not follow redirects,
// so a GET of an authorization URL returns the 302 itself.
func (s *Server) Client() *http.Client { return s.client }

// now is the server's clock.
func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}
