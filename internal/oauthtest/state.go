package oauthtest

import (
	"crypto/rand"
	"maps"
	"net/url"
	"slices"
	"time"
)

// state is everything the server remembers; Server.mu guards it.
type state struct {
	consent     Consent
	calls       map[string]int
	grantCalls  map[string]int
	authorizes  []AuthorizeRequest
	tokenReqs   []TokenRequest
	revocations []Revocation
	reuse       int
	tokenFaults []*faultEntry
	revokFaults []*faultEntry

	pending  map[string]*pendingConsent // consent form request id -> request
	codes    map[string]*code
	tokens   map[string]*token
	families int
}

func (st *state) init(cfg Config) {
	st.consent = cfg.Consent
	st.calls = map[string]int{}
	st.grantCalls = map[string]int{}
	st.pending = map[string]*pendingConsent{}
	st.codes = map[string]*code{}
	st.tokens = map[string]*token{}
}

// family is every token descending from one authorization (one code, or one
// client credentials request).
type family struct {
	id      int
	revoked bool
	tokens  []*token
}

func (f *family) revoke() {
	f.revoked = true
	for _, t := range f.tokens {
		t.revoked = true
	}
}

type code struct {
	clientID    string
	redirectURI string // as sent in the authorization request; "" if omitted
	challenge   string
	method      string
	scope       []string
	expiry      time.Time
	used        bool
	family      *family
}

type tokenKind string

const (
	kindAccess  tokenKind = "access_token"
	kindRefresh tokenKind = "refresh_token"
)

type token struct {
	value    string
	kind     tokenKind
	clientID string
	scope    []string
	expiry   time.Time // zero: never
	revoked  bool
	used     bool // a refresh token rotated away
	family   *family
}

func (t *token) active(now time.Time) bool {
	return !t.revoked && !t.family.revoked && !t.used && (t.expiry.IsZero() || now.Before(t.expiry))
}

// newToken records a new token of the family; the caller holds the lock.
func (st *state) newToken(kind tokenKind, f *family, clientID string, scope []string, expiry time.Time) *token {
	prefix := "at_"
	if kind == kindRefresh {
		prefix = "rt_"
	}
	t := &token{
		value:    prefix + rand.Text(),
		kind:     kind,
		clientID: clientID,
		scope:    slices.Clone(scope),
		expiry:   expiry,
		family:   f,
	}
	st.tokens[t.value] = t
	f.tokens = append(f.tokens, t)
	return t
}

func (st *state) newFamily() *family {
	st.families++
	return &family{id: st.families}
}

// AuthorizeRequest is an authorization request the server received.
type AuthorizeRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	State               string
	Scope               string
	CodeChallenge       string
	CodeChallengeMethod string
	// Query is the whole query string.
	Query url.Values
}

// TokenRequest is a token endpoint request the server received. It holds
// secrets (client secret, code, verifier, refresh token): tests may assert
// on it but must never log it.
type TokenRequest struct {
	GrantType string
	// Form is the POST form.
	Form url.Values
	// BasicUser and BasicPassword are the HTTP Basic credentials as sent
	// (still form-urlencoded, per RFC 6749 section 2.3.1); HasBasic tells
	// whether there were any.
	BasicUser, BasicPassword string
	HasBasic                 bool
}

// Revocation is a call to the revocation endpoint, recorded in order.
type Revocation struct {
	Token         string
	TokenTypeHint string
	// ClientID is the authenticated client, or "" if authentication failed.
	ClientID string
	// Status is the HTTP status the server answered; 0 while the request
	// is in progress, or if the client gave up on a hang.
	Status int
	// Known tells whether Token was a token the server had issued to the
	// client.
	Known bool
}

// TokenInfo describes a token the server issued.
type TokenInfo struct {
	// Type is "access_token" or "refresh_token".
	Type     string
	ClientID string
	Scope    []string
	// Expiry is zero for a token that never expires.
	Expiry time.Time
	// Active tells whether the token would be accepted now.
	Active bool
	// Revoked tells whether the token, or its whole grant, was revoked.
	Revoked bool
	// Rotated tells whether a refresh token was used up by rotation.
	Rotated bool
	// Grant identifies the authorization the token descends from; tokens
	// with equal Grant are revoked together.
	Grant int
}

// Calls reports how many requests reached the endpoint at path (for
// example [PathToken]), faulted ones included.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.calls[path]
}

// GrantCalls reports how many token requests had the grant type, faulted
// ones included.
func (s *Server) GrantCalls(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.grantCalls[grantType]
}

// AuthorizeRequests returns the authorization requests received, in order.
func (s *Server) AuthorizeRequests() []AuthorizeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.state.authorizes)
	for i := range out {
		out[i].Query = cloneValues(out[i].Query)
	}
	return out
}

// TokenRequests returns the token requests received, in order. They hold
// secrets: never log them.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.state.tokenReqs)
	for i := range out {
		out[i].Form = cloneValues(out[i].Form)
	}
	return out
}

// LastTokenForm returns the form of the latest token request, or nil. It
// holds secrets: never log it.
func (s *Server) LastTokenForm() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.state.tokenReqs); n > 0 {
		return cloneValues(s.state.tokenReqs[n-1].Form)
	}
	return nil
}

// Revocations returns the calls to the revocation endpoint, in order.
func (s *Server) Revocations() []Revocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.revocations)
}

// ReuseDetections reports how many times a used (rotated) refresh token
// was presented again.
func (s *Server) ReuseDetections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.reuse
}

// Active reports whether accessToken is an access token the server issued
// that is neither revoked nor expired.
func (s *Server) Active(accessToken string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.tokens[accessToken]
	return ok && t.kind == kindAccess && t.active(now)
}

// Lookup describes a token the server issued.
func (s *Server) Lookup(tok string) (TokenInfo, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.tokens[tok]
	if !ok {
		return TokenInfo{}, false
	}
	return TokenInfo{
		Type:     string(t.kind),
		ClientID: t.clientID,
		Scope:    slices.Clone(t.scope),
		Expiry:   t.expiry,
		Active:   t.active(now),
		Revoked:  t.revoked || t.family.revoked,
		Rotated:  t.used,
		Grant:    t.family.id,
	}, true
}

// Revoke revokes a token as the user or provider would out of band, without
// a call to the revocation endpoint: an access token alone, or a refresh
// token together with its whole grant. It reports whether the token was
// known.
func (s *Server) Revoke(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.tokens[tok]
	if !ok {
		return false
	}
	s.state.revoke(t)
	return true
}

func (st *state) revoke(t *token) {
	if t.kind == kindRefresh {
		t.family.revoke()
		return
	}
	t.revoked = true
}

// SetConsent changes what the authorization endpoint does with the next
// valid requests.
func (s *Server) SetConsent(c Consent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.consent = c
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := maps.Clone(v)
	for k, vv := range out {
		out[k] = slices.Clone(vv)
	}
	return out
}
