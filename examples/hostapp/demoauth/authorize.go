package demoauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxFailedLogins is how many wrong passwords one authorization request
// survives.
const maxFailedLogins = 5

// authorizeGet validates an authorization request and shows the login and
// consent page. Requests whose client or redirect URI cannot be trusted get
// an error page, never a redirect (RFC 6749 section 4.1.2.1).
func (s *Server) authorizeGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			s.errorPage(w, http.StatusBadRequest, "The parameter "+strconv.Quote(k)+" is repeated.")
			return
		}
	}
	client, ok := s.clients[q.Get("client_id")]
	if !ok {
		s.errorPage(w, http.StatusBadRequest, "Unknown client_id.")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(client.RedirectURIs) == 1 {
		redirect = client.RedirectURIs[0]
	}
	if !slices.Contains(client.RedirectURIs, redirect) {
		s.errorPage(w, http.StatusBadRequest, "The redirect_uri is not registered for this client.")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectTo(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}
	scope := strings.Fields(q.Get("scope"))
	for _, sc := range scope {
		if len(s.cfg.Scopes) > 0 && !slices.Contains(s.cfg.Scopes, sc) {
			fail("invalid_scope", "unknown scope "+strconv.Quote(sc))
			return
		}
	}
	id := newID()
	now := s.now()
	s.mu.Lock()
	s.gc(now)
	s.consents[id] = &consent{client: client, redirectURI: redirect, state: state, scope: scope,
		challenge: q.Get("code_challenge"), expires: now.Add(consentTTL)}
	s.mu.Unlock()
	s.consentPage(w, http.StatusOK, id, client, scope, redirect, "", "demo")
}

// authorizePost handles the login and consent form.
func (s *Server) authorizePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	id := r.PostForm.Get("request_id")
	now := s.now()
	s.mu.Lock()
	c := s.consents[id]
	if c == nil || now.After(c.expires) {
		delete(s.consents, id)
		s.mu.Unlock()
		s.errorPage(w, http.StatusBadRequest, "This authorization request is unknown or has expired. Start connecting again from the application.")
		return
	}
	s.mu.Unlock()
	if r.PostForm.Get("action") != "approve" {
		s.finish(id)
		redirectTo(w, r, c.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {"The user denied access."}, "state": {c.state}})
		return
	}
	username := r.PostForm.Get("username")
	user, ok := s.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		s.mu.Lock()
		c.failedLogins++
		tooMany := c.failedLogins >= maxFailedLogins
		s.mu.Unlock()
		if tooMany {
			s.finish(id)
			redirectTo(w, r, c.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {"Too many failed logins."}, "state": {c.state}})
			return
		}
		s.consentPage(w, http.StatusUnauthorized, id, c.client, c.scope, c.redirectURI, "Wrong user name or password.", username)
		return
	}
	if !s.finish(id) {
		s.errorPage(w, http.StatusBadRequest, "This authorization request was already answered.")
		return
	}
	codeValue := newID()
	s.mu.Lock()
	s.codes[codeValue] = &code{clientID: c.client.ID, redirectURI: c.redirectURI, challenge: c.challenge, user: user.Username,
		scope: c.scope, expires: now.Add(s.cfg.CodeTTL), grant: newID()}
	s.mu.Unlock()
	redirectTo(w, r, c.redirectURI, url.Values{"code": {codeValue}, "state": {c.state}})
}

// finish removes a consent request and reports whether it was still there.
func (s *Server) finish(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.consents[id]
	delete(s.consents, id)
	return ok
}

// redirectTo sends the browser to a registered redirect URI with params
// added to its query (an empty state is left out).
func redirectTo(w http.ResponseWriter, r *http.Request, redirect string, params url.Values) {
	u, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "bad redirect URI", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, v := range params {
		if len(v) == 1 && v[0] == "" {
			continue
		}
		q[k] = v
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

const pageStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#0f3d5e;color:#1d2330}` +
	`main{width:24rem;margin:1rem;padding:2rem;background:#fff;border-radius:10px;box-shadow:0 8px 24px rgba(0,0,0,.25)}` +
	`h1{font-size:1.3rem;margin:0 0 .25rem}.brand{color:#0f3d5e;font-weight:700;letter-spacing:.02em}` +
	`label{display:block;margin:.75rem 0 .25rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #b7bfcc;border-radius:6px;font-size:1rem}` +
	`ul{padding-left:1.2rem}.hint{background:#eef6ff;border:1px solid #b9d7f5;border-radius:6px;padding:.5rem .75rem;font-size:.9rem}` +
	`.error{background:#fdecea;border:1px solid #f5c2bd;color:#8a1c12;border-radius:6px;padding:.5rem .75rem}` +
	`.buttons{display:flex;gap:.75rem;margin-top:1.25rem}button{flex:1;padding:.6rem;border-radius:6px;border:1px solid #0f3d5e;font-size:1rem;cursor:pointer}` +
	`button.approve{background:#0f3d5e;color:#fff}button.deny{background:#fff;color:#0f3d5e}small{color:#5b6473}`

var styleHash = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var pages = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {{.Title}}</title><style>{{.Style}}</style></head>
<body><main>
<div class="brand">{{.Title}}</div>
<h1>Sign in to authorize {{.Client}}</h1>
<p><small>{{.Client}} asks for access to your {{.Title}} account:</small></p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{else}}<li>basic access</li>{{end}}</ul>
<p class="hint">Demo account: user name <b>demo</b>, password <b>demo</b>.</p>
{{if .Error}}<p class="error" id="login-error">{{.Error}}</p>{{end}}
<form method="post" id="consent">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<label for="username">User name</label><input id="username" name="username" value="{{.Username}}" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<div class="buttons">
<button class="deny" type="submit" name="action" value="deny" id="deny" formnovalidate>Deny</button>
<button class="approve" type="submit" name="action" value="approve" id="approve">Approve</button>
</div>
</form>
<p><small>After you answer, you return to {{.RedirectHost}}.</small></p>
</main></body></html>
{{define "error"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}: authorization error</title><style>{{.Style}}</style></head>
<body><main><div class="brand">{{.Title}}</div><h1>Authorization error</h1><p class="error">{{.Error}}</p></main></body></html>
{{end}}`))

type pageData struct {
	Title, Client, RequestID, Error, Username, RedirectHost string
	Scopes                                                  []string
	Style                                                   template.CSS
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData, formAction string) {
	d.Title = s.cfg.Title
	d.Style = template.CSS(pageStyle)
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	// The form posts here and is answered with a redirect to the client's
	// registered redirect URI; form-action must allow both.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+styleHash+"; form-action "+formAction+
		"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) consentPage(w http.ResponseWriter, status int, id string, client Client, scope []string, redirect, errMsg, username string) {
	name := client.Name
	if name == "" {
		name = client.ID
	}
	origin := ""
	if u, err := url.Parse(redirect); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	s.render(w, status, "consent", pageData{Client: name, RequestID: id, Scopes: scope, Error: errMsg,
		Username: username, RedirectHost: hostOf(redirect)}, "'self' "+origin)
}

func (s *Server) errorPage(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error", pageData{Error: msg}, "'none'")
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
