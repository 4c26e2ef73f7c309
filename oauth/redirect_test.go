package oauth_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

const (
	fxSuccessURL = "https://host.example/connected?tab=connections"
	fxFailureURL = "https://host.example/connect-failed"
)

func withRedirects(v *connection.Variable) {
	v.SuccessRedirect = fxSuccessURL
	v.FailureRedirect = fxFailureURL
}

// location parses the Location of a 303 answer.
func location(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303 (body %q)", resp.StatusCode, flowBody(t, resp))
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCustomSuccessRedirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{variable: withRedirects})
		resp := fx.callback(fx.start(fx.ref).String())
		checkCallbackHeaders(t, resp)
		loc := location(t, resp)
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "https://host.example/connected" {
			t.Errorf("redirected to %q", got)
		}
		id := fx.conn(fx.ref).ID
		want := url.Values{
			"tab":                       {"connections"}, // the configured URL's own query is kept
			"instanceId":                {fxInstanceID},
			"instanceName":              {fxInstanceName},
			"integrationId":             {fxIntegration},
			"integrationName":           {fxIntegName},
			"requiredConfigVariableId":  {id},
			"requiredConfigVariableKey": {fxVariable},
			"id":                        {id},
		}
		if diff := cmp.Diff(want, loc.Query()); diff != "" {
			t.Errorf("success redirect query (-want +got):\n%s", diff)
		}
		if loc.Fragment != "" || loc.User != nil {
			t.Errorf("redirect has fragment %q or user %v", loc.Fragment, loc.User)
		}
	})
}

func TestCustomFailureRedirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{variable: withRedirects,
			server: oauthtest.Config{DenyDescription: "Nope & <never>"}})
		fx.srv.SetConsent(oauthtest.ConsentDeny)
		loc := location(t, fx.callback(fx.start(fx.ref).String()))
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != fxFailureURL {
			t.Errorf("redirected to %q", got)
		}
		id := fx.conn(fx.ref).ID
		want := url.Values{
			"instanceId":                {fxInstanceID},
			"instanceName":              {fxInstanceName},
			"integrationId":             {fxIntegration},
			"integrationName":           {fxIntegName},
			"requiredConfigVariableId":  {id},
			"requiredConfigVariableKey": {fxVariable},
			"id":                        {id},
			"error":                     {"access_denied"},
			// connkit's own text: the provider's description never leaves
			// for the redirect's site.
			"error_description": {"The provider refused the authorization."},
		}
		if diff := cmp.Diff(want, loc.Query()); diff != "" {
			t.Errorf("failure redirect query (-want +got):\n%s", diff)
		}
		// The provider's description is in the connection's log instead.
		if e := fx.lastEvent(id, oauth.EventConnectFailed); e.Attrs["error_description"] != "Nope & <never>" {
			t.Errorf("connect_failed attrs = %v", e.Attrs)
		}
		if n := fx.tokenCalls(); n != 0 {
			t.Errorf("token calls = %d", n)
		}
	})
}

// TestCustomRedirectUserLevel: the id of a user-level connection is that
// user's own connection record.
func TestCustomRedirectUserLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{variable: withRedirects, user: "alice"})
		bob := connection.Ref{InstanceID: fxInstanceID, Variable: fxVariable, User: "bob"}
		fx.setValues(bob, map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret})
		a := location(t, fx.callback(fx.start(fx.ref).String())).Query()
		b := location(t, fx.callback(fx.start(bob).String())).Query()
		if a.Get("id") != fx.conn(fx.ref).ID || b.Get("id") != fx.conn(bob).ID || a.Get("id") == b.Get("id") {
			t.Errorf("ids: alice %q (record %q), bob %q (record %q)", a.Get("id"), fx.conn(fx.ref).ID, b.Get("id"), fx.conn(bob).ID)
		}
		if a.Get("requiredConfigVariableKey") != fxVariable || b.Get("requiredConfigVariableKey") != fxVariable {
			t.Errorf("variable keys %q %q", a.Get("requiredConfigVariableKey"), b.Get("requiredConfigVariableKey"))
		}
	})
}

// TestCustomRedirectStateFailure: a replayed callback still lands on the
// variable's failure page, since the state identifies the connection.
func TestCustomRedirectStateFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{variable: withRedirects})
		u := fx.start(fx.ref).String()
		if loc := location(t, fx.callback(u)); loc.Path != "/connected" {
			t.Fatalf("first callback went to %s", loc)
		}
		loc := location(t, fx.callback(u))
		if loc.Path != "/connect-failed" || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("id") != fx.conn(fx.ref).ID {
			t.Errorf("replayed callback went to %s", loc)
		}
	})
}

// TestNoOpenRedirect: nothing in the callback request chooses where the
// browser goes; a variable with an unusable redirect URI cannot be
// declared.
func TestNoOpenRedirect(t *testing.T) {
	for _, bad := range []string{"//evil.example/x", "javascript:alert(1)", "https://u:p@evil.example/", "https://host.example/#frag", "/relative"} {
		v := connection.Variable{Key: "k", Type: connection.MustDeclare(connection.Type{Key: "t", OAuth2: &connection.OAuth2{
			AuthorizeURL: "https://a.example/auth", TokenURL: "https://a.example/token"}}), SuccessRedirect: bad}
		if _, err := connection.DeclareVariable(v); err == nil {
			t.Errorf("variable with success redirect %q declared", bad)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		u := fx.start(fx.ref)
		q := u.Query()
		q.Set("redirect_uri", "https://evil.example/")
		q.Set("success_redirect", "https://evil.example/")
		u.RawQuery = q.Encode()
		resp := fx.callback(u.String())
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Errorf("callback = %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestFailureRedirectOmitsProviderDescription: when the token endpoint
// refuses the code, the custom failure redirect carries the provider's
// error code and connkit's own description only; connkit's page (without a
// custom redirect) shows the provider's description with the request's
// secrets redacted.
func TestFailureRedirectOmitsProviderDescription(t *testing.T) {
	const leak = "see https://provider.example/help?ref=internal-ticket-4711"
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{variable: withRedirects})
		fx.srv.FailToken(1, oauthtest.Fault{Error: "invalid_client", Description: "bad secret " + fxClientSecret + "; " + leak})
		resp := fx.callback(fx.start(fx.ref).String())
		loc := location(t, resp)
		q := loc.Query()
		if q.Get("error") != "invalid_client" || q.Get("error_description") != "The token endpoint refused the authorization code." {
			t.Errorf("failure redirect query = %v", q)
		}
		if raw := resp.Header.Get("Location"); strings.Contains(raw, "internal-ticket") || strings.Contains(raw, "bad+secret") || strings.Contains(raw, "bad%20secret") {
			t.Errorf("the provider's description reached the redirect: %s", raw)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		fx.srv.FailToken(1, oauthtest.Fault{Error: "invalid_client", Description: "bad secret " + fxClientSecret})
		body := html.UnescapeString(flowBody(t, fx.callback(fx.start(fx.ref).String())))
		if strings.Contains(body, fxClientSecret) || !strings.Contains(body, "bad secret [REDACTED]") {
			t.Errorf("page = %s", body)
		}
	})
}
