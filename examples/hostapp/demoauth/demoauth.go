// Package demoauth is the demo OAuth 2.0 authorization server of the example
// host application: a small, self-contained provider on loopback, so that
// CONNECT works on a fresh machine with no accounts and no network.
//
// It implements what connkit talks to:
//
//   - the authorization code grant (RFC 6749 section 4.1) with a login and
//     consent page (user name and password, Approve and Deny buttons),
//     exact redirect URI matching and mandatory PKCE S256 (RFC 7636);
//   - the refresh token grant with refresh token rotation: a refresh token
//     works once, and presenting a used one revokes the whole grant;
//   - client authentication by HTTP Basic or form body;
//   - token revocation (RFC 7009), which revokes the whole grant of a
//     refresh token and the one access token otherwise.
//
// Access and refresh tokens are self-contained: HMAC-SHA256 signed with
// Config.Key, so they keep working when the demo restarts with the same key.
// Authorization codes, rotation and revocation are remembered in memory only;
// after a restart a revoked or rotated token that has not expired would be
// accepted again. That is fine for a demo and nothing else.
//
// [Server.Introspect] lets a resource server in the same process (the demo
// API) check access tokens.
package demoauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/connkit/connkit/connection"
)

// Paths of the endpoints, relative to where [Server.Handler] is mounted.
const (
	PathAuthorize = "/authorize"
	PathToken     = "/token"
	PathRevoke    = "/revoke"
)

// Defaults of [Config].
const (
	DefaultAccessTokenTTL  = 10 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultCodeTTL         = 2 * time.Minute
	consentTTL             = 10 * time.Minute
)

// Client is a registered OAuth 2.0 client.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client_secret (required: every demo client is
	// confidential).
	Secret connection.Secret
	// Name is shown on the consent page.
	Name string
	// RedirectURIs are the registered redirect URIs; a request's
	// redirect_uri must equal one exactly.
	RedirectURIs []string
}

// User is a demo user who can log in at the consent page.
type User struct {
	// Username is what the user types at the login form.
	Username string
	// Password is the user's password.
	Password connection.Secret
	// Name is the user's display name.
	Name string
}

// Config configures a [Server]. Key, Clients and Users are required.
type Config struct {
	// Key signs tokens: at least 32 random bytes.
	Key []byte
	// Clients are the registered clients.
	Clients []Client
	// Users may log in.
	Users []User
	// Scopes, when set, are the only scopes that may be requested.
	Scopes []string
	// Title names the provider on its pages; empty means "Demo Cloud".
	Title string
	// AccessTokenTTL, RefreshTokenTTL and CodeTTL are lifetimes; zero means
	// the defaults.
	AccessTokenTTL, RefreshTokenTTL, CodeTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the demo authorization server. It is safe for concurrent use.
type Server struct {
	cfg     Config
	now     func() time.Time
	clients map[string]Client
	users   map[string]User

	mu       sync.Mutex
	consents map[string]*consent // request_id -> validated authorization request
	codes    map[string]*code
	revoked  map[string]time.Time // grant id -> when its revocation can be forgotten
	used     map[string]time.Time // rotated refresh token nonce -> same
	handler  http.Handler
}

// consent is a validated authorization request waiting for the user.
type consent struct {
	client             Client
	redirectURI, state string
	scope              []string
	challenge          string
	expires            time.Time
	failedLogins       int
}

type code struct {
	clientID, redirectURI, challenge, user string
	scope                                  []string
	expires                                time.Time
	used                                   bool
	grant                                  string
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	var problems []string
	if len(cfg.Key) < 32 {
		problems = append(problems, "Key must hold at least 32 bytes")
	}
	if len(cfg.Clients) == 0 {
		problems = append(problems, "at least one Client is required")
	}
	if len(cfg.Users) == 0 {
		problems = append(problems, "at least one User is required")
	}
	s := &Server{
		cfg: cfg, now: cfg.Now,
		clients: map[string]Client{}, users: map[string]User{},
		consents: map[string]*consent{}, codes: map[string]*code{},
		revoked: map[string]time.Time{}, used: map[string]time.Time{},
	}
	for _, c := range cfg.Clients {
		if c.ID == "" || c.Secret.Reveal() == "" || len(c.RedirectURIs) == 0 {
			problems = append(problems, fmt.Sprintf("client %q needs an id, a secret and redirect URIs", c.ID))
		}
		for _, u := range c.RedirectURIs {
			if p, err := url.Parse(u); err != nil || !p.IsAbs() || p.Fragment != "" {
				problems = append(problems, fmt.Sprintf("client %q: redirect URI %q is not absolute", c.ID, u))
			}
		}
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		s.clients[c.ID] = c
	}
	for _, u := range cfg.Users {
		if u.Username == "" || u.Password.Reveal() == "" {
			problems = append(problems, "every user needs a user name and a password")
		}
		s.users[u.Username] = u
	}
	if len(problems) > 0 {
		return nil, errors.New("demoauth: " + strings.Join(problems, "; "))
	}
	s.cfg.Key = slices.Clone(cfg.Key)
	s.cfg.Scopes = slices.Clone(cfg.Scopes)
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.Title == "" {
		s.cfg.Title = "Demo Cloud"
	}
	if s.cfg.AccessTokenTTL <= 0 {
		s.cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if s.cfg.RefreshTokenTTL <= 0 {
		s.cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if s.cfg.CodeTTL <= 0 {
		s.cfg.CodeTTL = DefaultCodeTTL
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathAuthorize, s.authorizeGet)
	mux.HandleFunc("POST "+PathAuthorize, s.authorizePost)
	mux.HandleFunc("POST "+PathToken, s.token)
	mux.HandleFunc("POST "+PathRevoke, s.revoke)
	s.handler = mux
	return s, nil
}

// Handler returns the server's endpoints ([PathAuthorize], [PathToken],
// [PathRevoke]); mount it with http.StripPrefix under its base URL.
func (s *Server) Handler() http.Handler { return s.handler }

// Grant describes a valid access token.
type Grant struct {
	// Client and User are who the token was issued to and for.
	Client, User string
	// Scopes are the granted scopes.
	Scopes []string
	// Expiry is when the token expires.
	Expiry time.Time
}

// Introspect reports whether accessToken is an access token this server
// issued that has neither expired nor been revoked, and what it grants.
func (s *Server) Introspect(accessToken string) (Grant, bool) {
	c, err := s.parse(accessToken, kindAccess)
	if err != nil {
		return Grant{}, false
	}
	return Grant{Client: c.Client, User: c.User, Scopes: strings.Fields(c.Scope), Expiry: time.Unix(c.Expires, 0)}, true
}

// newID returns 128 random bits, base32-encoded.
func newID() string { return rand.Text() }

// authenticate checks the client credentials of a token or revocation
// request: HTTP Basic or form body, not both.
func (s *Server) authenticate(r *http.Request) (Client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Has("client_secret") {
			return Client{}, false
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := s.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret.Reveal())) != 1 {
		return Client{}, false
	}
	return c, true
}

// checkPassword compares in constant time.
func (s *Server) checkPassword(username, password string) (User, bool) {
	u, ok := s.users[username]
	if !ok {
		// Compare anyway so a wrong user name takes as long.
		hmac.Equal([]byte(password), []byte(password+"x"))
		return User{}, false
	}
	a, b := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(u.Password.Reveal()))
	return u, subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// gc forgets expired consents, codes and revocations; the caller holds
// s.mu.
func (s *Server) gc(now time.Time) {
	for k, c := range s.consents {
		if now.After(c.expires) {
			delete(s.consents, k)
		}
	}
	for k, c := range s.codes {
		if now.After(c.expires.Add(time.Minute)) {
			delete(s.codes, k)
		}
	}
	for k, t := range s.revoked {
		if now.After(t) {
			delete(s.revoked, k)
		}
	}
	for k, t := range s.used {
		if now.After(t) {
			delete(s.used, k)
		}
	}
}
