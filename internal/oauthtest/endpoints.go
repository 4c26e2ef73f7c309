package oauthtest

import (
	"net/http"
	"strings"
)

// serveRevoke is the revocation endpoint (RFC 7009).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "revocation requests must be POST")
		return
	}
	perr := parsePostForm(r)
	rev := Revocation{Token: r.PostForm.Get("token"), TokenTypeHint: r.PostForm.Get("token_type_hint")}
	s.mu.Lock()
	i := len(s.state.revocations)
	s.state.revocations = append(s.state.revocations, rev)
	f, faulted := takeFault(&s.state.revokFaults, "", false)
	s.mu.Unlock()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.state.revocations[i].Status = rw.status
		s.mu.Unlock()
	}()
	if faulted && s.applyFault(rw, r, f) {
		return
	}
	if perr != nil {
		writeOAuthError(rw, perr)
		return
	}
	client, oerr := s.authenticate(r)
	if oerr != nil {
		writeOAuthError(rw, oerr)
		return
	}
	if rev.Token == "" {
		writeOAuthError(rw, errInvalidRequest("token is required"))
		return
	}
	s.mu.Lock()
	s.state.revocations[i].ClientID = client.ID
	t, ok := s.state.tokens[rev.Token]
	if ok && t.clientID != client.ID {
		s.mu.Unlock()
		writeError(rw, http.StatusBadRequest, "unauthorized_client", "token was issued to another client")
		return
	}
	if ok {
		// The hint only speeds up a real server's lookup; it is ignored
		// here (RFC 7009 section 2.1). Revoking a refresh token revokes
		// its whole grant.
		s.state.revocations[i].Known = true
		s.state.revoke(t)
	}
	s.mu.Unlock()
	// Unknown and already invalid tokens also get 200 (section 2.2).
	rw.WriteHeader(http.StatusOK)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serveMetadata is the RFC 8414 metadata document.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc := map[string]any{
		"issuer":                                         s.Issuer(),
		"authorization_endpoint":                         s.AuthorizeURL(),
		"token_endpoint":                                 s.TokenURL(),
		"revocation_endpoint":                            s.RevokeURL(),
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		"code_challenge_methods_supported":               []string{"S256", "plain"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"authorization_response_iss_parameter_supported": s.cfg.IssParameter,
	}
	if len(s.cfg.Scopes) > 0 {
		doc["scopes_supported"] = append([]string(nil), s.cfg.Scopes...)
	}
	if h := s.cfg.Metadata; h != nil {
		h(doc)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_ = jsonEncode(w, doc)
	}
}

// serveResource is a protected resource (RFC 6750): 200 with a small JSON
// description of a valid Bearer access token, 401 otherwise.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	const realm = `Bearer realm="oauthtest"`
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", realm)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	info, known := s.Lookup(tok)
	if !known || info.Type != string(kindAccess) || !info.Active {
		w.Header().Set("WWW-Authenticate", realm+`, error="invalid_token", error_description="the access token is invalid, revoked or expired"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = jsonEncode(w, map[string]any{
		"client_id": info.ClientID,
		"scope":     strings.Join(info.Scope, " "),
		"grant":     info.Grant,
	})
}
