package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// The token and revocation URLs are pinned at CONNECT: a change of a URL
// by anyone the origin check lets through (the host, a template, a variable
// or type default) after CONNECT makes refresh, client credentials renewal
// and revocation refuse, instead of sending the refresh token, the client
// secret or a token to the new URL. attackerHost stands for "the new URL".

const movedTokenURL = "https://" + attackerHost + "/token"

// newPinFx is a flowFx whose endpoint fields the host may set (Embedded),
// with requests to attackerHost going to att.
func newPinFx(t *testing.T, att *attacker, opts flowFxOptions) *flowFx {
	t.Helper()
	opts.variable = func(v *connection.Variable) {
		v.Visibility = map[string]connection.Visibility{}
		for _, k := range []string{connection.FieldAuthorizeURL, connection.FieldTokenURL, connection.FieldRevokeURL} {
			if v.Type.HasField(k) {
				v.Visibility[k] = connection.Embedded
			}
		}
	}
	return newOriginFx(t, att, opts)
}

func (fx *flowFx) newTokens(t *testing.T) *oauth.Tokens {
	t.Helper()
	tk, err := oauth.NewTokens(oauth.TokensConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr, HTTPClient: fx.flow.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTokens(t, tk) })
	return tk
}

// wantEndpointChanged fails unless err is an *EndpointChangedError for
// field, from connected to current, that also matches ErrMisconfigured and
// names neither URL in its message.
func wantEndpointChanged(t *testing.T, what string, err error, field, connected, current string) {
	t.Helper()
	ec, ok := errors.AsType[*oauth.EndpointChangedError](err)
	if !ok || !errors.Is(err, oauth.ErrMisconfigured) {
		t.Fatalf("%s = %v, want an *EndpointChangedError matching ErrMisconfigured", what, err)
	}
	if diff := cmp.Diff(oauth.EndpointChangedError{Ref: ec.Ref, Field: field, Connected: connected, Current: current}, *ec); diff != "" {
		t.Errorf("%s: EndpointChangedError (-want +got):\n%s", what, diff)
	}
	if msg := err.Error(); strings.Contains(msg, attackerHost) || strings.Contains(msg, fxClientSecret) ||
		(connected != "" && strings.Contains(msg, connected)) {
		t.Errorf("%s: the error names a URL or secret: %q", what, msg)
	}
}

// wantChangeLogged fails unless the connection's newest entry for event
// names the endpoint and both hosts.
func (fx *flowFx) wantChangeLogged(t *testing.T, event, field, connectedHost, currentHost string) {
	t.Helper()
	e := fx.lastEvent(fx.conn(fx.ref).ID, event)
	if e.Attrs["endpoint"] != field || e.Attrs["connected_host"] != connectedHost || e.Attrs["current_host"] != currentHost ||
		!strings.Contains(e.Message+" "+e.Attrs["detail"], "changed since CONNECT") {
		t.Errorf("%s entry = %q %v", event, e.Message, e.Attrs)
	}
}

func providerHost(fx *flowFx) string {
	u, err := url.Parse(fx.srv.URL())
	if err != nil {
		fx.t.Fatal(err)
	}
	return u.Host
}

// TestRefreshUsesTokenURLOfConnect: the host changes the token URL after
// CONNECT; the next refresh sends nothing anywhere, fails with an
// *EndpointChangedError, turns the connection red and logs both hosts.
// Undoing the change makes refresh work again (the refresh token was kept),
// and a new CONNECT at the new URL pins that one.
func TestRefreshUsesTokenURLOfConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		att := &attacker{}
		fx := newPinFx(t, att, flowFxOptions{})
		fx.connect(fx.ref)
		rt := fx.token(fx.ref).RefreshToken.Reveal()
		calls := fx.tokenCalls()
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: movedTokenURL})

		tk := fx.newTokens(t)
		time.Sleep(2 * time.Hour)
		_, err := tk.Source(fx.ref).Token(context.Background())
		wantEndpointChanged(t, "Token after the token URL changed", err, connection.FieldTokenURL, fx.srv.TokenURL(), movedTokenURL)
		if reqs := att.requests(); len(reqs) != 0 {
			t.Errorf("the new token URL got %d requests (refresh token sent: %v)", len(reqs), strings.Contains(strings.Join(reqs, "\n"), rt))
		}
		if n := fx.tokenCalls() - calls; n != 0 {
			t.Errorf("the token URL of CONNECT got %d requests, want none", n)
		}
		synctest.Wait()
		c := fx.conn(fx.ref)
		if c.Health.Status != connection.StatusError || !strings.Contains(c.Health.Reason, "token URL changed") {
			t.Errorf("health = %+v, want red naming the change", c.Health)
		}
		if !c.Token.Refreshable {
			t.Error("the refresh token was dropped; it is still good at the token URL of CONNECT")
		}
		fx.wantChangeLogged(t, oauth.EventRefreshFailed, connection.FieldTokenURL, providerHost(fx), attackerHost)

		// Undone: the recorded URL is used again.
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: fx.srv.TokenURL()})
		time.Sleep(time.Hour) // past every cooldown
		if _, err := tk.Source(fx.ref).Token(context.Background()); err != nil {
			t.Fatalf("Token after the change was undone: %v", err)
		}
		if n := fx.tokenCalls() - calls; n != 1 {
			t.Errorf("%d refreshes at the token URL of CONNECT, want 1", n)
		}

		// A new CONNECT at another URL of the provider pins that one.
		moved := fx.srv.TokenURL() + "?tenant=2"
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: moved})
		time.Sleep(2 * time.Hour)
		_, err = tk.Source(fx.ref).Token(context.Background())
		wantEndpointChanged(t, "Token after a second change", err, connection.FieldTokenURL, fx.srv.TokenURL(), moved)
		fx.connect(fx.ref)
		time.Sleep(2 * time.Hour)
		if _, err := tk.Source(fx.ref).Token(context.Background()); err != nil {
			t.Errorf("Token after reconnecting at the new URL: %v", err)
		}
		if reqs := att.requests(); len(reqs) != 0 {
			t.Errorf("attacker got %q", reqs)
		}
	})
}

// TestRefreshedSetKeepsPins: a refreshed token set is bound to the URLs of
// the set it replaces, so a change after several refreshes is still
// caught, for the revocation URL too.
func TestRefreshedSetKeepsPins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		att := &attacker{}
		fx := newPinFx(t, att, flowFxOptions{})
		fx.connect(fx.ref)
		tk := fx.newTokens(t)
		for range 2 {
			time.Sleep(2 * time.Hour)
			if _, err := tk.Source(fx.ref).Token(context.Background()); err != nil {
				t.Fatalf("refresh with unchanged URLs: %v", err)
			}
		}
		// The revocation URL changes while the token URL stays: refreshes
		// go on (nothing goes to the revocation URL), and keep the
		// revocation URL of CONNECT, which DISCONNECT then insists on.
		moved := "https://" + attackerHost + "/revoke"
		fx.setValues(fx.ref, map[string]string{connection.FieldRevokeURL: moved})
		time.Sleep(2 * time.Hour)
		if _, err := tk.Source(fx.ref).Token(context.Background()); err != nil {
			t.Fatalf("refresh after the revocation URL changed: %v", err)
		}
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		wantEndpointChanged(t, "RevokeErr", res.RevokeErr, connection.FieldRevokeURL, fx.srv.RevokeURL(), moved)
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: movedTokenURL})
		fx.connect(fx.ref) // at movedTokenURL, which answers like a token endpoint
		if n := len(att.requests()); n != 1 {
			t.Fatalf("a CONNECT at the new token URL made %d requests there, want 1", n)
		}
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: fx.srv.TokenURL()})
		time.Sleep(2 * time.Hour)
		_, err = tk.Source(fx.ref).Token(context.Background())
		wantEndpointChanged(t, "Token after moving back", err, connection.FieldTokenURL, movedTokenURL, fx.srv.TokenURL())
		if n := len(att.requests()); n != 1 {
			t.Errorf("the token URL of CONNECT got %d requests, want only the exchange", n)
		}
	})
}

// TestDisconnectRevokesAtRevokeURLOfConnect: DISCONNECT deletes the tokens
// but revokes nothing when the revocation URL changed since CONNECT: to
// another URL, or to one where the connection had none.
func TestDisconnectRevokesAtRevokeURLOfConnect(t *testing.T) {
	moved := "https://" + attackerHost + "/revoke"
	for _, tc := range []struct {
		name      string
		oauth2    func(o *connection.OAuth2)
		fields    []connection.Field
		connected func(fx *flowFx) string
	}{
		{name: "changed", connected: func(fx *flowFx) string { return fx.srv.RevokeURL() }},
		// A type without a revocation URL, with a field for one.
		{name: "added", oauth2: func(o *connection.OAuth2) { o.RevokeURL = "" },
			fields:    []connection.Field{{Key: connection.FieldRevokeURL, Kind: connection.KindURL}},
			connected: func(*flowFx) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				att := &attacker{}
				fx := newPinFx(t, att, flowFxOptions{oauth2: tc.oauth2, fields: tc.fields})
				fx.connect(fx.ref)
				fx.setValues(fx.ref, map[string]string{connection.FieldRevokeURL: moved})
				res, err := fx.flow.Disconnect(context.Background(), fx.ref)
				if err != nil {
					t.Fatal(err)
				}
				wantEndpointChanged(t, "RevokeErr", res.RevokeErr, connection.FieldRevokeURL, tc.connected(fx), moved)
				if !res.Deleted || len(res.Revoked) != 0 {
					t.Errorf("Disconnect = %+v", res)
				}
				if diff := cmp.Diff([]string{oauth.HintRefreshToken, oauth.HintAccessToken}, res.NotRevoked); diff != "" {
					t.Errorf("NotRevoked (-want +got):\n%s", diff)
				}
				if reqs := att.requests(); len(reqs) != 0 {
					t.Errorf("the new revocation URL got %q", reqs)
				}
				if n := fx.srv.Calls(oauthtest.PathRevoke); n != 0 {
					t.Errorf("the revocation URL of CONNECT got %d requests", n)
				}
				if fx.conn(fx.ref).Token != nil {
					t.Error("tokens not deleted locally")
				}
				connectedHost := ""
				if tc.connected(fx) != "" {
					connectedHost = providerHost(fx)
				}
				fx.wantChangeLogged(t, oauth.EventRevokeFailed, connection.FieldRevokeURL, connectedHost, attackerHost)
			})
		})
	}
}

// TestDisconnectRevokesWithUnchangedURLs: the pins do not get in the way
// of an ordinary DISCONNECT, also after refreshes.
func TestDisconnectRevokesWithUnchangedURLs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newPinFx(t, &attacker{}, flowFxOptions{})
		fx.connect(fx.ref)
		time.Sleep(2 * time.Hour)
		if _, err := fx.newTokens(t).Source(fx.ref).Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil || res.RevokeErr != nil || len(res.Revoked) != 2 {
			t.Errorf("Disconnect = %+v, %v", res, err)
		}
	})
}

// TestClientCredentialsRenewalUsesTokenURLOfConnect: a client credentials
// token is renewed (by a token source, or by Flow.ClientCredentialsToken)
// only at the token URL of ConnectClientCredentials; a new
// ConnectClientCredentials pins the new one.
func TestClientCredentialsRenewalUsesTokenURLOfConnect(t *testing.T) {
	cc := func(o *connection.OAuth2) { o.Grant = connection.GrantClientCredentials }
	for _, tc := range []struct {
		name  string
		renew func(t *testing.T, fx *flowFx) error
	}{
		{name: "token source", renew: func(t *testing.T, fx *flowFx) error {
			_, err := fx.newTokens(t).Source(fx.ref).Token(context.Background())
			return err
		}},
		{name: "flow", renew: func(t *testing.T, fx *flowFx) error {
			_, err := fx.flow.ClientCredentialsToken(context.Background(), fx.ref)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				att := &attacker{}
				fx := newPinFx(t, att, flowFxOptions{oauth2: cc})
				if err := fx.flow.ConnectClientCredentials(context.Background(), fx.ref); err != nil {
					t.Fatal(err)
				}
				fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: movedTokenURL})
				time.Sleep(2 * time.Hour)
				err := tc.renew(t, fx)
				wantEndpointChanged(t, "renewal", err, connection.FieldTokenURL, fx.srv.TokenURL(), movedTokenURL)
				if reqs := att.requests(); len(reqs) != 0 {
					t.Errorf("the new token URL got the client secret: %q", reqs)
				}
				synctest.Wait()
				fx.wantChangeLogged(t, oauth.EventRefreshFailed, connection.FieldTokenURL, providerHost(fx), attackerHost)

				// ConnectClientCredentials is a CONNECT: it pins the new URL.
				if err := fx.flow.ConnectClientCredentials(context.Background(), fx.ref); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Hour)
				if err := tc.renew(t, fx); err != nil {
					t.Errorf("renewal after ConnectClientCredentials at the new URL: %v", err)
				}
				if n := len(att.requests()); n != 2 {
					t.Errorf("the new token URL got %d requests, want 2 (connect, renewal)", n)
				}
			})
		})
	}
}

// TestCallbackRefusesTokenURLChangedDuringConnect: the code goes to the
// token URL the CONNECT started with, and only while the values still name
// it: a change between start and callback fails the CONNECT (before, the
// code went to the old URL and the set was bound to a URL the values no
// longer named).
func TestCallbackRefusesTokenURLChangedDuringConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		att := &attacker{}
		fx := newPinFx(t, att, flowFxOptions{})
		loc := fx.start(fx.ref)
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: movedTokenURL})
		resp := fx.callback(loc.String())
		if body := flowBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "token URL changed") {
			t.Errorf("callback = %d %q", resp.StatusCode, body)
		}
		if n := fx.tokenCalls(); n != 0 {
			t.Errorf("%d token requests, want none", n)
		}
		if reqs := att.requests(); len(reqs) != 0 {
			t.Errorf("attacker got %q", reqs)
		}
		if c := fx.conn(fx.ref); c.Token != nil || c.Health.Status != connection.StatusError {
			t.Errorf("connection: token %v health %+v", c.Token != nil, c.Health)
		}
		fx.wantChangeLogged(t, oauth.EventConnectFailed, connection.FieldTokenURL, providerHost(fx), attackerHost)
	})
}

// TestUnpinnedTokenSetUsesCurrentURLs: a token set stored without recorded
// URLs (before pinning, or sealed by a host from a Token of its own) is
// refreshed at the current token URL, as before; that refresh records the
// URL, so a later change is refused.
func TestUnpinnedTokenSetUsesCurrentURLs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		att := &attacker{}
		fx := newPinFx(t, att, flowFxOptions{})
		fx.connect(fx.ref)
		// Store the set again as an older version would have: without URLs.
		pinned := fx.token(fx.ref)
		legacy := oauth.Token{AccessToken: pinned.AccessToken, RefreshToken: pinned.RefreshToken, TokenType: pinned.TokenType,
			Expiry: pinned.Expiry, Scopes: pinned.Scopes, ObtainedAt: pinned.ObtainedAt}
		c := fx.conn(fx.ref)
		sealed, err := oauth.SealToken(fx.seal, c.ID, legacy)
		if err != nil {
			t.Fatal(err)
		}
		c.Token = sealed
		if _, err := fx.store.PutConnection(context.Background(), c); err != nil {
			t.Fatal(err)
		}

		// The host moved the token URL: the set has no URL to hold it to.
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: movedTokenURL})
		tk := fx.newTokens(t)
		time.Sleep(2 * time.Hour)
		if _, err := tk.Source(fx.ref).Token(context.Background()); err != nil {
			t.Fatalf("refresh of an unpinned set at the current URL: %v", err)
		}
		if reqs := att.requests(); len(reqs) != 1 || !strings.Contains(reqs[0], "grant_type=refresh_token") {
			t.Fatalf("the current token URL got %q, want one refresh", reqs)
		}
		// That refresh recorded the URL it used.
		fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: fx.srv.TokenURL()})
		time.Sleep(2 * time.Hour)
		_, err = tk.Source(fx.ref).Token(context.Background())
		wantEndpointChanged(t, "Token after the first refresh pinned the URL", err, connection.FieldTokenURL, movedTokenURL, fx.srv.TokenURL())
	})
}
