package oauthtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	defaultCodeTTL        = 10 * time.Minute
	defaultAccessTokenTTL = time.Hour
)

// oauthError is an RFC 6749 section 5.2 error to answer.
type oauthError struct {
	status      int
	code        string
	description string
}

func errInvalidClient(desc string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", desc}
}

func errInvalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

// serveToken is the token endpoint (RFC 6749 section 3.2).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "token requests must be POST")
		return
	}
	perr := parsePostForm(r)
	grant := r.PostForm.Get("grant_type") // "" if the form did not parse
	f, faulted := s.record(r, grant)
	if faulted && s.applyFault(w, r, f) {
		return
	}
	if perr != nil {
		writeOAuthError(w, perr)
		return
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			writeOAuthError(w, errInvalidRequest(k+" repeated"))
			return
		}
	}
	client, oerr := s.authenticate(r)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	var (
		body map[string]any
		err  *oauthError
	)
	switch grant {
	case GrantAuthorizationCode:
		body, err = s.exchangeCode(r, client)
	case GrantRefreshToken:
		body, err = s.refresh(r, client)
	case GrantClientCredentials:
		body, err = s.clientCredentials(r, client)
	case "":
		err = errInvalidRequest("grant_type is required")
	default:
		err = &oauthError{http.StatusBadRequest, "unsupported_grant_type", ""}
	}
	if err != nil {
		writeOAuthError(w, err)
		return
	}
	for k, v := range s.cfg.ExtraTokenFields {
		body[k] = v
	}
	if h := s.cfg.TokenResponse; h != nil {
		h(grant, body)
	}
	writeJSON(w, http.StatusOK, body)
}

// record counts and records a token request and takes the fault to play,
// if any.
func (s *Server) record(r *http.Request, grant string) (Fault, bool) {
	tr := TokenRequest{GrantType: grant, Form: cloneValues(r.PostForm)}
	tr.BasicUser, tr.BasicPassword, tr.HasBasic = r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.tokenReqs = append(s.state.tokenReqs, tr)
	if grant != "" {
		s.state.grantCalls[grant]++
	}
	return takeFault(&s.state.tokenFaults, grant, true)
}

// parsePostForm parses an application/x-www-form-urlencoded body.
func parsePostForm(r *http.Request) *oauthError {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return errInvalidRequest("content type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return errInvalidRequest("malformed form body")
	}
	return nil
}

// authenticate finds and authenticates the client of a token or revocation
// request (RFC 6749 section 2.3.1), enforcing the client's AuthStyle.
func (s *Server) authenticate(r *http.Request) (Client, *oauthError) {
	formID := r.PostForm.Get("client_id")
	_, formHasSecret := r.PostForm["client_secret"]
	formSecret := r.PostForm.Get("client_secret")
	user, pass, basic := r.BasicAuth()
	var id, secret string
	switch {
	case basic:
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return Client{}, errInvalidClient("malformed Basic credentials")
		}
		if formHasSecret {
			return Client{}, errInvalidRequest("more than one client authentication method")
		}
		if formID != "" && formID != u {
			return Client{}, errInvalidClient("client_id does not match the Basic credentials")
		}
		id, secret = u, p
	case formID != "":
		id, secret = formID, formSecret
	default:
		return Client{}, errInvalidClient("no client authentication")
	}
	c, ok := s.lookupClient(id)
	if !ok {
		return Client{}, errInvalidClient("unknown client")
	}
	if c.Secret == "" { // public client
		if secret != "" {
			return Client{}, errInvalidClient("public client presented a secret")
		}
		return c, nil
	}
	switch {
	case c.AuthStyle == AuthStyleHeader && !basic:
		return Client{}, errInvalidClient("client must authenticate with HTTP Basic")
	case c.AuthStyle == AuthStyleBody && basic:
		return Client{}, errInvalidClient("client must authenticate with client_secret in the body")
	case !basic && !formHasSecret:
		return Client{}, errInvalidClient("client secret required")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return Client{}, errInvalidClient("bad client secret")
	}
	return c, nil
}

// exchangeCode is the authorization code grant (RFC 6749 section 4.1.3,
// RFC 7636 section 4.6).
func (s *Server) exchangeCode(r *http.Request, client Client) (map[string]any, *oauthError) {
	value := r.PostForm.Get("code")
	if value == "" {
		return nil, errInvalidRequest("code is required")
	}
	_, hasVerifier := r.PostForm["code_verifier"]
	verifier := r.PostForm.Get("code_verifier")
	_, hasRedirect := r.PostForm["redirect_uri"]
	redirect := r.PostForm.Get("redirect_uri")
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.state.codes[value]
	switch {
	case !ok:
		return nil, errInvalidGrant("unknown code")
	case c.clientID != client.ID:
		return nil, errInvalidGrant("code was issued to another client")
	case c.used:
		// Section 4.1.2: revoke what the code produced.
		if c.family != nil {
			c.family.revoke()
		}
		return nil, errInvalidGrant("code already used")
	case !now.Before(c.expiry):
		return nil, errInvalidGrant("code expired")
	case c.redirectURI != "" && (!hasRedirect || redirect != c.redirectURI):
		return nil, errInvalidGrant("redirect_uri does not match the authorization request")
	case c.redirectURI == "" && hasRedirect:
		return nil, errInvalidGrant("redirect_uri was not in the authorization request")
	case c.challenge == "" && hasVerifier:
		return nil, errInvalidGrant("code_verifier without code_challenge")
	case c.challenge != "" && !hasVerifier:
		return nil, errInvalidGrant("code_verifier is required")
	case c.challenge != "" && !validPKCEValue(verifier):
		return nil, errInvalidGrant("malformed code_verifier")
	case c.challenge != "" && !pkceMatches(c.method, c.challenge, verifier):
		return nil, errInvalidGrant("code_verifier does not match code_challenge")
	}
	c.used = true
	c.family = s.state.newFamily()
	return s.issue(c.family, client.ID, c.scope, !s.cfg.OmitRefreshToken, now), nil
}

// refresh is the refresh token grant (RFC 6749 section 6).
func (s *Server) refresh(r *http.Request, client Client) (map[string]any, *oauthError) {
	value := r.PostForm.Get("refresh_token")
	if value == "" {
		return nil, errInvalidRequest("refresh_token is required")
	}
	_, hasScope := r.PostForm["scope"]
	scope := strings.Fields(r.PostForm.Get("scope"))
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.tokens[value]
	switch {
	case !ok || t.kind != kindRefresh:
		return nil, errInvalidGrant("unknown refresh token")
	case t.clientID != client.ID:
		return nil, errInvalidGrant("refresh token was issued to another client")
	case t.used:
		s.state.reuse++
		t.family.revoke()
		return nil, errInvalidGrant("refresh token reused; grant revoked")
	case !t.active(now):
		return nil, errInvalidGrant("refresh token revoked or expired")
	}
	if hasScope {
		for _, sc := range scope {
			if !slices.Contains(t.scope, sc) {
				return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope exceeds the grant"}
			}
		}
	} else {
		scope = t.scope
	}
	if s.cfg.RevokeAccessTokenOnRefresh {
		for _, old := range t.family.tokens {
			if old.kind == kindAccess {
				old.revoked = true
			}
		}
	}
	rotate := s.cfg.RotateRefreshTokens
	if rotate {
		t.used = true
	}
	body := s.issue(t.family, client.ID, scope, rotate, now)
	if rotate {
		// The new refresh token keeps the grant's scope, not a narrowed one.
		s.state.tokens[body["refresh_token"].(string)].scope = slices.Clone(t.scope)
	}
	return body, nil
}

// clientCredentials is the client credentials grant (RFC 6749 section 4.4).
func (s *Server) clientCredentials(r *http.Request, client Client) (map[string]any, *oauthError) {
	if client.Secret == "" {
		return nil, &oauthError{http.StatusBadRequest, "unauthorized_client", "public clients cannot use client_credentials"}
	}
	scope := strings.Fields(r.PostForm.Get("scope"))
	if len(s.cfg.Scopes) > 0 {
		for _, sc := range scope {
			if !slices.Contains(s.cfg.Scopes, sc) {
				return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "unknown scope"}
			}
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue(s.state.newFamily(), client.ID, scope, false, now), nil
}

// issue makes an access token (and a refresh token if withRefresh) in
// family f and returns the response body; the caller holds the lock.
func (s *Server) issue(f *family, clientID string, scope []string, withRefresh bool, now time.Time) map[string]any {
	ttl := s.cfg.AccessTokenTTL
	if ttl == 0 {
		ttl = defaultAccessTokenTTL
	}
	var expiry time.Time
	if ttl > 0 {
		expiry = now.Add(ttl)
	}
	at := s.state.newToken(kindAccess, f, clientID, scope, expiry)
	body := map[string]any{
		"access_token": at.value,
		"token_type":   "Bearer",
	}
	if ttl > 0 && !s.cfg.OmitExpiresIn {
		body["expires_in"] = int64(ttl / time.Second)
	}
	if withRefresh {
		var rexp time.Time
		if s.cfg.RefreshTokenTTL > 0 {
			rexp = now.Add(s.cfg.RefreshTokenTTL)
		}
		rt := s.state.newToken(kindRefresh, f, clientID, scope, rexp)
		body["refresh_token"] = rt.value
	}
	if len(scope) > 0 && !s.cfg.OmitScope {
		body["scope"] = strings.Join(scope, " ")
	}
	return body
}

// validPKCEValue checks the syntax of a code verifier or challenge
// (RFC 7636 sections 4.1 and 4.2): 43 to 128 unreserved characters.
func validPKCEValue(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

func pkceMatches(method, challenge, verifier string) bool {
	var got string
	switch method {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		got = base64.RawURLEncoding.EncodeToString(sum[:])
	case "plain":
		got = verifier
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.code == "invalid_client" {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauthtest"`)
	}
	writeError(w, e.status, e.code, e.description)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]any{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
