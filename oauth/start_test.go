package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
)

// TestStartAuthorizeURL checks every parameter of the authorize URL and the
// pending authorization Start records.
func TestStartAuthorizeURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{oauth2: func(o *connection.OAuth2) {
			o.AuthorizeParams = map[string]string{"access_type": "offline", "prompt": "consent"}
		}})
		authURL, err := fx.flow.Start(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Scheme + "://" + u.Host + u.Path; got != fx.srv.AuthorizeURL() {
			t.Errorf("authorize endpoint = %q, want %q", got, fx.srv.AuthorizeURL())
		}
		q := u.Query()
		state, challenge := q.Get("state"), q.Get("code_challenge")
		want := url.Values{
			"response_type":         {"code"},
			"client_id":             {fxClientID},
			"redirect_uri":          {fxRedirectURL},
			"scope":                 {"read write"},
			"state":                 {state},
			"code_challenge":        {challenge},
			"code_challenge_method": {"S256"},
			"access_type":           {"offline"},
			"prompt":                {"consent"},
		}
		if diff := cmp.Diff(want, q); diff != "" {
			t.Errorf("authorize query (-want +got):\n%s", diff)
		}
		// State: 256 random bits (43 base64url characters), a dot, and the
		// sealed connection id; never the connection id in the clear.
		random, sealed, ok := strings.Cut(state, ".")
		if !ok || len(random) != 43 || sealed == "" {
			t.Errorf("state %q is not random.sealed", state)
		}
		conn := fx.conn(fx.ref)
		if strings.Contains(state, conn.ID) {
			t.Error("state carries the connection id in the clear")
		}
		if len(challenge) != 43 {
			t.Errorf("code_challenge %q is not a base64url SHA-256", challenge)
		}

		sum := sha256.Sum256([]byte(state))
		hash := hex.EncodeToString(sum[:])
		p, err := fx.store.ConsumePending(context.Background(), hash)
		if err != nil {
			t.Fatalf("no pending authorization under the state's hash: %v", err)
		}
		now := time.Now()
		if p.ConnectionID != conn.ID || p.Ref != fx.ref || p.RedirectURI != fxRedirectURL || p.TokenURL != fx.srv.TokenURL() {
			t.Errorf("pending = %+v", p)
		}
		if !p.ExpiresAt.Equal(now.Add(10*time.Minute)) || p.Issuer != "" {
			t.Errorf("pending expires %v (want %v), issuer %q", p.ExpiresAt, now.Add(10*time.Minute), p.Issuer)
		}
		verifier, err := fx.seal.Open(p.Verifier, store.AssociatedData("pending", hash, "verifier"))
		if err != nil {
			t.Fatalf("verifier does not open: %v", err)
		}
		if strings.Contains(string(p.Verifier), string(verifier)) {
			t.Error("verifier stored in the clear")
		}
		vsum := sha256.Sum256(verifier)
		if got := base64.RawURLEncoding.EncodeToString(vsum[:]); got != challenge {
			t.Errorf("challenge %q is not S256 of the sealed verifier (%q)", challenge, got)
		}
		for k, v := range p.Data {
			if strings.Contains(v, random) {
				t.Errorf("pending data %q holds the state", k)
			}
		}
		if e := fx.lastEvent(conn.ID, oauth.EventConnectStarted); e.Attrs["pkce"] != "S256" || e.Attrs["authorize_host"] != "oauthtest.example" {
			t.Errorf("connect_started attrs = %v", e.Attrs)
		}
		// A second CONNECT keeps the connection's id.
		if _, err := fx.flow.Start(context.Background(), fx.ref); err != nil {
			t.Fatal(err)
		}
		if id := fx.conn(fx.ref).ID; id != conn.ID {
			t.Errorf("second Start changed the connection id from %s to %s", conn.ID, id)
		}
	})
}

// TestStartCreatesConnection: a connection without record gets one with a
// stable id at its first CONNECT (here its values are all type defaults and
// variable defaults).
func TestStartCreatesConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{noValues: true, variable: func(v *connection.Variable) {
			v.Defaults = connection.ValuesOf(map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret})
		}})
		if _, err := fx.store.GetConnection(context.Background(), fx.ref); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("connection exists before CONNECT: %v", err)
		}
		fx.connect(fx.ref)
		if c := fx.conn(fx.ref); c.ID == "" || c.Token == nil {
			t.Errorf("connection after CONNECT = %+v", c)
		}
	})
}

func TestStartTenantValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{oauth2: func(o *connection.OAuth2) { o.ScopesOverridable = true }, variable: embedEndpoints})
		fx.setValues(fx.ref, map[string]string{
			connection.FieldAuthorizeURL: "https://login.tenant.example/oauth/authorize",
			connection.FieldScopes:       "read:contacts,offline_access",
		})
		authURL, err := fx.flow.Start(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		if u.Host != "login.tenant.example" || u.Path != "/oauth/authorize" {
			t.Errorf("authorize URL %s ignores the tenant's override", u.Host+u.Path)
		}
		if got := u.Query().Get("scope"); got != "read:contacts offline_access" {
			t.Errorf("scope = %q", got)
		}
	})
}

func TestStartScopesNotOverridable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{oauth2: func(o *connection.OAuth2) { o.ScopeSeparator = "," }})
		fx.setValues(fx.ref, map[string]string{connection.FieldScopes: "admin"})
		authURL, err := fx.flow.Start(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		if got := u.Query().Get("scope"); got != "read,write" {
			t.Errorf("scope = %q, want the type's own, comma-separated", got)
		}
	})
}

func TestStartPKCEMethods(t *testing.T) {
	for _, tc := range []struct {
		method        connection.PKCEMethod
		wantMethod    string
		wantChallenge bool
	}{
		{connection.PKCEPlain, "plain", true},
		{connection.PKCEOff, "", false},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fx := newFlowFx(t, flowFxOptions{oauth2: func(o *connection.OAuth2) { o.PKCE = tc.method }})
				authURL, err := fx.flow.Start(context.Background(), fx.ref)
				if err != nil {
					t.Fatal(err)
				}
				u, _ := url.Parse(authURL)
				q := u.Query()
				if q.Get("code_challenge_method") != tc.wantMethod || (q.Get("code_challenge") != "") != tc.wantChallenge {
					t.Errorf("challenge %q method %q", q.Get("code_challenge"), q.Get("code_challenge_method"))
				}
				loc, err := fx.srv.Authorize(context.Background(), authURL)
				if err != nil {
					t.Fatal(err)
				}
				if resp := fx.callback(loc.String()); resp.StatusCode != 200 {
					t.Fatalf("callback = %d %s", resp.StatusCode, flowBody(t, resp))
				}
				form := fx.srv.LastTokenForm()
				if (form.Get("code_verifier") != "") != tc.wantChallenge {
					t.Errorf("code_verifier sent = %v, want %v", form.Get("code_verifier") != "", tc.wantChallenge)
				}
				if tc.method == connection.PKCEPlain && form.Get("code_verifier") != q.Get("code_challenge") {
					t.Error("plain verifier differs from the challenge")
				}
			})
		})
	}
}

func TestStartMisconfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No client id: nothing to start, no pending, and the error names
		// the field.
		fx := newFlowFx(t, flowFxOptions{noValues: true})
		_, err := fx.flow.Start(context.Background(), fx.ref)
		var ve *connection.ValidationError
		if !errors.Is(err, oauth.ErrMisconfigured) || !errors.As(err, &ve) || len(ve.Field(connection.FieldClientID)) == 0 {
			t.Fatalf("Start without client id = %v", err)
		}
		// With a record (a secret set but no client id), the failure is in
		// the connection's log.
		fx.setValues(fx.ref, map[string]string{connection.FieldClientSecret: "x"})
		if _, err := fx.flow.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Fatalf("Start = %v", err)
		}
		if e := fx.lastEvent(fx.conn(fx.ref).ID, oauth.EventConnectFailed); e.Attrs["stage"] != "start" || !strings.Contains(e.Attrs["detail"], connection.FieldClientID) {
			t.Errorf("connect_failed attrs = %v", e.Attrs)
		}

		// A client-credentials type has no CONNECT.
		cc := newFlowFx(t, flowFxOptions{oauth2: func(o *connection.OAuth2) { o.Grant = connection.GrantClientCredentials }})
		if _, err := cc.flow.Start(context.Background(), cc.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("Start of a client-credentials type = %v", err)
		}
		if _, err := cc.flow.Start(context.Background(), connection.Ref{Variable: "x"}); !errors.Is(err, connection.ErrBadRef) {
			t.Errorf("Start with a bad ref = %v", err)
		}
	})
}

// TestStartRefusesPlainHTTP: authorize and token URLs a tenant sets must use
// https unless the host allows private networks.
func TestStartRefusesPlainHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{variable: embedEndpoints})
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: "http://tokens.tenant.example/token"})
		if _, err := fx.flow.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("Start with an http token URL = %v", err)
		}
		lax := newFlowFx(t, flowFxOptions{variable: embedEndpoints, flow: func(c *oauth.FlowConfig) { c.AllowPrivateNetworks = true }})
		lax.setValues(lax.ref, map[string]string{connection.FieldTokenURL: "http://tokens.tenant.example/token"})
		if _, err := lax.flow.Start(context.Background(), lax.ref); err != nil {
			t.Errorf("Start with AllowPrivateNetworks = %v", err)
		}
	})
}

// TestStartClientAuthBody: a type declaring client_secret_post sends the
// secret in the form only (the fake provider refuses Basic for it).
func TestStartClientAuthBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{style: oauthtest.AuthStyleBody})
		fx.connect(fx.ref)
		req := fx.srv.TokenRequests()[0]
		if req.HasBasic || req.Form.Get("client_secret") != fxClientSecret || len(fx.srv.TokenRequests()) != 1 {
			t.Errorf("token request: basic %v, body secret set %v, %d requests", req.HasBasic, req.Form.Get("client_secret") != "", len(fx.srv.TokenRequests()))
		}
	})
}

// TestPublicClient: a client without secret (PKCE only) sends its client_id
// in the form, to the token and the revocation endpoint alike, and no Basic
// header.
func TestPublicClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{public: true, server: oauthtest.Config{RequirePKCE: true}})
		fx.connect(fx.ref)
		req := fx.srv.TokenRequests()[0]
		if req.HasBasic || req.Form.Get("client_id") != fxClientID || req.Form.Has("client_secret") || req.Form.Get("code_verifier") == "" {
			t.Errorf("token request: basic %v, client_id %q, secret in form %v", req.HasBasic, req.Form.Get("client_id"), req.Form.Has("client_secret"))
		}
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil || len(res.Revoked) != 2 {
			t.Fatalf("Disconnect = %+v, %v", res, err)
		}
		for _, r := range fx.srv.Revocations() {
			if r.ClientID != fxClientID || r.Status != 200 {
				t.Errorf("revocation %s: client %q status %d", r.TokenTypeHint, r.ClientID, r.Status)
			}
		}
	})
}

// TestStartRedirectBindsBrowser: a CONNECT begun with StartRedirect sets a
// cookie and completes only in a browser that sends it back; elsewhere it
// fails before any token call (RFC 9700 section 4.7).
func TestStartRedirectBindsBrowser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		begin := func() (*url.URL, *http.Cookie) {
			t.Helper()
			rec := httptest.NewRecorder()
			if err := fx.flow.StartRedirect(rec, httptest.NewRequest(http.MethodPost, "https://app.example/connect", nil), fx.ref); err != nil {
				t.Fatal(err)
			}
			resp := rec.Result()
			cookies := resp.Cookies()
			if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
				t.Fatalf("StartRedirect answered %d with %d cookies", resp.StatusCode, len(cookies))
			}
			c := cookies[0]
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/oauth/callback" ||
				c.MaxAge != 600 || !strings.HasPrefix(c.Name, "__Secure-") || len(c.Value) != 43 {
				t.Errorf("binding cookie = %+v", c)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Error("StartRedirect answer may be cached")
			}
			loc, err := fx.srv.Authorize(context.Background(), resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			return loc, c
		}
		deliver := func(u *url.URL, c *http.Cookie) *http.Response {
			req := httptest.NewRequest(http.MethodGet, u.String(), nil)
			if c != nil {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			fx.flow.ServeHTTP(rec, req)
			return rec.Result()
		}

		// Another browser: no cookie, or another CONNECT's cookie.
		_, other := begin()
		for _, c := range []*http.Cookie{nil, {Name: other.Name, Value: other.Value}} {
			loc, own := begin()
			if c != nil {
				c.Name = own.Name // right name, value of another CONNECT
			}
			resp := deliver(loc, c)
			if resp.StatusCode != http.StatusBadRequest || fx.tokenCalls() != 0 {
				t.Fatalf("callback in another browser = %d, %d token calls", resp.StatusCode, fx.tokenCalls())
			}
		}
		id := fx.conn(fx.ref).ID
		if e := fx.lastEvent(id, oauth.EventConnectFailed); e.Attrs["stage"] != "browser" {
			t.Errorf("connect_failed attrs = %v", e.Attrs)
		}
		if e := fx.lastEvent(id, oauth.EventConnectStarted); e.Attrs["browser_bound"] != "true" {
			t.Errorf("connect_started attrs = %v", e.Attrs)
		}

		// The same browser completes it, and the cookie is cleared.
		loc, own := begin()
		resp := deliver(loc, own)
		if resp.StatusCode != http.StatusOK || fx.tokenCalls() != 1 {
			t.Fatalf("callback in the same browser = %d: %s", resp.StatusCode, flowBody(t, resp))
		}
		cleared := resp.Cookies()
		if len(cleared) != 1 || cleared[0].Name != own.Name || cleared[0].MaxAge >= 0 {
			t.Errorf("binding cookie not cleared: %+v", cleared)
		}
		// Start (without binding) still works without any cookie.
		if resp := fx.callback(fx.start(fx.ref).String()); resp.StatusCode != http.StatusOK {
			t.Errorf("unbound CONNECT = %d", resp.StatusCode)
		}
	})
}
