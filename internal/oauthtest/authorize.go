package oauthtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// pendingConsent is a valid authorization request waiting on the consent
// form.
type pendingConsent struct {
	client      Client
	redirect    string // where to send the browser
	redirectArg string // redirect_uri as sent, "" if omitted
	req         AuthorizeRequest
	scope       []string
}

// serveAuthorize is the authorization endpoint (RFC 6749 section 4.1.1).
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.authorizeGet(w, r)
	case http.MethodPost:
		s.authorizePost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) authorizeGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ar := AuthorizeRequest{
		ClientID:            q.Get("client_id"),
		RedirectURI:         q.Get("redirect_uri"),
		ResponseType:        q.Get("response_type"),
		State:               q.Get("state"),
		Scope:               q.Get("scope"),
		CodeChallenge:       q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"),
		Query:               cloneValues(q),
	}
	s.mu.Lock()
	s.state.authorizes = append(s.state.authorizes, ar)
	consent := s.state.consent
	s.mu.Unlock()

	// Errors about the client or the redirect URI must not redirect
	// (section 4.1.2.1): the redirect target is not trustworthy.
	client, ok := s.lookupClient(ar.ClientID)
	if !ok {
		http.Error(w, "oauthtest: unknown client_id", http.StatusBadRequest)
		return
	}
	redirect := ar.RedirectURI
	switch {
	case redirect == "" && len(client.RedirectURIs) == 1:
		redirect = client.RedirectURIs[0]
	case redirect == "":
		http.Error(w, "oauthtest: redirect_uri is required", http.StatusBadRequest)
		return
	case !slices.Contains(client.RedirectURIs, redirect):
		http.Error(w, "oauthtest: redirect_uri is not registered", http.StatusBadRequest)
		return
	}
	if _, err := url.Parse(redirect); err != nil {
		http.Error(w, "oauthtest: redirect_uri is not a URL", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		s.redirectError(w, r, redirect, ar.State, code, desc)
	}
	if len(q["response_type"]) != 1 || ar.ResponseType != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	for _, k := range []string{"client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method"} {
		if len(q[k]) > 1 {
			fail("invalid_request", k+" repeated")
			return
		}
	}
	switch {
	case ar.CodeChallenge == "" && ar.CodeChallengeMethod != "":
		fail("invalid_request", "code_challenge_method without code_challenge")
		return
	case ar.CodeChallenge == "" && s.cfg.RequirePKCE:
		fail("invalid_request", "code_challenge required")
		return
	case ar.CodeChallenge != "" && !validPKCEValue(ar.CodeChallenge):
		fail("invalid_request", "malformed code_challenge")
		return
	case ar.CodeChallenge != "" && ar.CodeChallengeMethod != "" &&
		ar.CodeChallengeMethod != "S256" && ar.CodeChallengeMethod != "plain":
		fail("invalid_request", "transform algorithm not supported")
		return
	}
	scope := strings.Fields(ar.Scope)
	if len(s.cfg.Scopes) > 0 {
		for _, sc := range scope {
			if !slices.Contains(s.cfg.Scopes, sc) {
				fail("invalid_scope", "unknown scope")
				return
			}
		}
	}
	p := &pendingConsent{client: client, redirect: redirect, redirectArg: ar.RedirectURI, req: ar, scope: scope}
	switch consent {
	case ConsentDeny:
		s.deny(w, r, p)
	case ConsentInvalidScope:
		fail("invalid_scope", "the requested scope is invalid")
	case ConsentForm:
		s.consentForm(w, p)
	default:
		s.approve(w, r, p)
	}
}

func (s *Server) deny(w http.ResponseWriter, r *http.Request, p *pendingConsent) {
	desc := s.cfg.DenyDescription
	if desc == "" {
		desc = "The user denied access"
	}
	s.redirectError(w, r, p.redirect, p.req.State, "access_denied", desc)
}

// approve issues a code and redirects with it.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, p *pendingConsent) {
	method := p.req.CodeChallengeMethod
	if p.req.CodeChallenge != "" && method == "" {
		method = "plain" // RFC 7636 section 4.3
	}
	ttl := s.cfg.CodeTTL
	if ttl <= 0 {
		ttl = defaultCodeTTL
	}
	value := "ac_" + rand.Text()
	now := s.now()
	s.mu.Lock()
	s.state.codes[value] = &code{
		clientID:    p.client.ID,
		redirectURI: p.redirectArg,
		challenge:   p.req.CodeChallenge,
		method:      method,
		scope:       p.scope,
		expiry:      now.Add(ttl),
	}
	s.mu.Unlock()
	params := url.Values{"code": {value}}
	for k, v := range s.cfg.ExtraCallbackParams {
		params.Set(k, v)
	}
	s.redirect(w, r, p.redirect, p.req.State, params)
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, desc string) {
	params := url.Values{"error": {code}}
	if desc != "" {
		params.Set("error_description", desc)
	}
	s.redirect(w, r, redirect, state, params)
}

// redirect sends the browser to redirect with params, state and iss added
// to its query.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, redirect, state string, params url.Values) {
	u, _ := url.Parse(redirect) // validated by the caller
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	if s.cfg.IssParameter {
		q.Set("iss", s.Issuer())
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><title>Authorize {{.ClientID}}</title></head>
<body>
<h1>Authorize {{.ClientID}}</h1>
<p>Scopes: {{.Scope}}</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>
</body></html>
`))

func (s *Server) consentForm(w http.ResponseWriter, p *pendingConsent) {
	id := rand.Text()
	s.mu.Lock()
	s.state.pending[id] = p
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentPage.Execute(w, map[string]string{
		"ClientID":  p.client.ID,
		"Scope":     p.req.Scope,
		"Action":    PathAuthorize,
		"RequestID": id,
	})
}

// authorizePost is the consent form's submission.
func (s *Server) authorizePost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "oauthtest: bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("request_id")
	s.mu.Lock()
	p, ok := s.state.pending[id]
	delete(s.state.pending, id)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "oauthtest: unknown or used consent request", http.StatusBadRequest)
		return
	}
	switch r.PostForm.Get("action") {
	case "approve":
		s.approve(w, r, p)
	case "deny":
		s.deny(w, r, p)
	default:
		http.Error(w, "oauthtest: action must be approve or deny", http.StatusBadRequest)
	}
}

func (s *Server) lookupClient(id string) (Client, bool) {
	if id == "" {
		return Client{}, false
	}
	for _, c := range s.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// AuthorizeError is returned by [Server.Authorize] when the authorization
// endpoint answers with neither a redirect nor the consent form, as it does
// for an unknown client or redirect URI.
type AuthorizeError struct {
	Status int
	Body   string
}

// Error gives the status and the start of the page the server answered.
func (e *AuthorizeError) Error() string {
	return fmt.Sprintf("oauthtest: authorization endpoint answered %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// Authorize plays the browser for authURL, an authorization URL a client
// built: it GETs it, submits the consent form with approve when
// [ConsentForm] is on, and returns where the provider redirects the browser
// to (the client's redirect URI with code and state, or with error). It
// does not follow that redirect. It uses [Server.Client].
func (s *Server) Authorize(ctx context.Context, authURL string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oauthtest: authorize: %w", err)
	}
	loc, body, err := s.browse(req)
	if err != nil || loc != nil {
		return loc, err
	}
	id, ok := formRequestID(body)
	if !ok {
		return nil, errors.New("oauthtest: authorize: answer is neither a redirect nor the consent form")
	}
	form := url.Values{"request_id": {id}, "action": {"approve"}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.AuthorizeURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oauthtest: authorize: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	loc, _, err = s.browse(req)
	if err == nil && loc == nil {
		err = errors.New("oauthtest: authorize: consent form submission did not redirect")
	}
	return loc, err
}

// browse sends req and returns the redirect location, or the body of a 200
// answer.
func (s *Server) browse(req *http.Request) (*url.URL, string, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("oauthtest: authorize: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("oauthtest: authorize: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusFound, http.StatusSeeOther:
		loc, err := resp.Location()
		if err != nil {
			return nil, "", fmt.Errorf("oauthtest: authorize: %w", err)
		}
		return loc, "", nil
	case http.StatusOK:
		return nil, string(b), nil
	default:
		return nil, "", &AuthorizeError{Status: resp.StatusCode, Body: string(b)}
	}
}

// formRequestID finds the consent form's request_id.
func formRequestID(page string) (string, bool) {
	const marker = `name="request_id" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		return "", false
	}
	rest := page[i+len(marker):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}
