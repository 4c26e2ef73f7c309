package demoauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Token kinds.
const (
	kindAccess  = "at"
	kindRefresh = "rt"
)

// tokenPrefix starts every token this server issues.
const tokenPrefix = "dc1."

// maxTokenLen bounds what parse looks at.
const maxTokenLen = 4096

// claims are the signed contents of a token.
type claims struct {
	Kind    string `json:"k"`
	Grant   string `json:"g"`
	Client  string `json:"c"`
	User    string `json:"u"`
	Scope   string `json:"s,omitempty"`
	Issued  int64  `json:"i"`
	Expires int64  `json:"e"`
	Nonce   string `json:"n"`
}

var errBadToken = errors.New("demoauth: token is malformed, forged, expired or revoked")

// sign returns the token for c: prefix, base64url JSON, base64url HMAC.
func (s *Server) sign(c claims) string {
	body, _ := json.Marshal(c)
	payload := tokenPrefix + base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s *Server) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// parse verifies a token of the given kind: signature, expiry, revocation.
func (s *Server) parse(tok, kind string) (claims, error) {
	var c claims
	if len(tok) > maxTokenLen || !strings.HasPrefix(tok, tokenPrefix) {
		return c, errBadToken
	}
	i := strings.LastIndexByte(tok, '.')
	if i <= len(tokenPrefix) {
		return c, errBadToken
	}
	payload, sig := tok[:i], tok[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || subtle.ConstantTimeCompare(got, s.mac(payload)) != 1 {
		return c, errBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(payload[len(tokenPrefix):])
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, errBadToken
	}
	now := s.now()
	if c.Kind != kind || c.Grant == "" || !now.Before(time.Unix(c.Expires, 0)) {
		return c, errBadToken
	}
	s.mu.Lock()
	_, revoked := s.revoked[c.Grant]
	s.mu.Unlock()
	if revoked {
		return c, errBadToken
	}
	return c, nil
}

// issue returns a token response for a grant.
func (s *Server) issue(grant, client, user, scope string) map[string]any {
	now := s.now()
	at := s.sign(claims{Kind: kindAccess, Grant: grant, Client: client, User: user, Scope: scope,
		Issued: now.Unix(), Expires: now.Add(s.cfg.AccessTokenTTL).Unix(), Nonce: newID()})
	rt := s.sign(claims{Kind: kindRefresh, Grant: grant, Client: client, User: user, Scope: scope,
		Issued: now.Unix(), Expires: now.Add(s.cfg.RefreshTokenTTL).Unix(), Nonce: newID()})
	return map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int(s.cfg.AccessTokenTTL / time.Second),
		"refresh_token": rt,
		"scope":         scope,
	}
}

// tokenError writes an RFC 6749 section 5.2 error.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="demoauth"`)
	}
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	client, ok := s.authenticate(r)
	if !ok {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchange(w, r, client)
	case "refresh_token":
		s.refresh(w, r, client)
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "authorization_code and refresh_token are supported")
	}
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request, client Client) {
	f := r.PostForm
	now := s.now()
	s.mu.Lock()
	c := s.codes[f.Get("code")]
	if c != nil && c.used {
		// A code presented twice: revoke what it issued (RFC 6749 4.1.2).
		s.revoked[c.grant] = now.Add(s.cfg.RefreshTokenTTL)
	}
	valid := c != nil && !c.used && now.Before(c.expires)
	if c != nil {
		c.used = true
	}
	s.mu.Unlock()
	switch {
	case !valid:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown, expired or used")
	case c.clientID != client.ID:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
	case f.Get("redirect_uri") != c.redirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
	case !pkceMatches(c.challenge, f.Get("code_verifier")):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the PKCE code verifier does not match the challenge")
	default:
		writeJSON(w, http.StatusOK, s.issue(c.grant, client.ID, c.user, strings.Join(c.scope, " ")))
	}
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request, client Client) {
	c, err := s.parse(r.PostForm.Get("refresh_token"), kindRefresh)
	if err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or revoked")
		return
	}
	if c.Client != client.ID {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token was issued to another client")
		return
	}
	scope := c.Scope
	if req := r.PostForm.Get("scope"); req != "" {
		granted := strings.Fields(c.Scope)
		for _, sc := range strings.Fields(req) {
			if !slices.Contains(granted, sc) {
				tokenError(w, http.StatusBadRequest, "invalid_scope", "a refresh cannot widen the grant")
				return
			}
		}
		scope = req
	}
	now := s.now()
	s.mu.Lock()
	s.gc(now)
	if _, reused := s.used[c.Nonce]; reused {
		// Rotation: a refresh token works once. Reuse means it leaked.
		s.revoked[c.Grant] = now.Add(s.cfg.RefreshTokenTTL)
		s.mu.Unlock()
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token was already used; the grant is revoked")
		return
	}
	s.used[c.Nonce] = time.Unix(c.Expires, 0)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.issue(c.Grant, client.ID, c.User, scope))
}

// revoke is the RFC 7009 revocation endpoint. A refresh token revokes its
// grant; an access token revokes its grant too (the demo has no finer
// bookkeeping). Unknown tokens are a success, as the RFC requires.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	client, ok := s.authenticate(r)
	if !ok {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	kinds := []string{kindRefresh, kindAccess}
	if r.PostForm.Get("token_type_hint") == "access_token" {
		kinds = []string{kindAccess, kindRefresh}
	}
	for _, k := range kinds {
		if c, err := s.parse(tok, k); err == nil && c.Client == client.ID {
			s.mu.Lock()
			s.revoked[c.Grant] = s.now().Add(s.cfg.RefreshTokenTTL)
			s.mu.Unlock()
			break
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// pkceMatches checks an S256 challenge against a verifier (RFC 7636).
func pkceMatches(challenge, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
