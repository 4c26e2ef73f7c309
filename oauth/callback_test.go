package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

// editQuery returns u with its query changed by edit.
func editQuery(u *url.URL, edit func(q url.Values)) string {
	c := *u
	q := c.Query()
	edit(q)
	c.RawQuery = q.Encode()
	return c.String()
}

// issFixture is a flow whose provider announces and sends iss (RFC 9207),
// with the metadata discovered.
var issFixture = flowFxOptions{
	server: oauthtest.Config{IssParameter: true},
	flow: func(c *oauth.FlowConfig) {
		c.Issuer = func(*template.Resolution) string { return oauthtest.UnstartedURL }
	},
}

// TestCallbackRejects: every malformed, forged, stale or refused
// authorization response fails without any call to the token endpoint and
// without storing credentials; when the connection is known (through the
// consumed state, or the connection id sealed in the state) the failure is
// in its log with the error code and description.
func TestCallbackRejects(t *testing.T) {
	type tc struct {
		name    string
		opts    flowFxOptions
		prepare func(t *testing.T, fx *flowFx) string
		code    string // error code on the page
		desc    string // expected error_description in the log ("" = any)
		stage   string // log stage; "" means the connection cannot be known
		status  int
	}
	good := func(t *testing.T, fx *flowFx) *url.URL { return fx.start(fx.ref) }
	cases := []tc{
		{name: "missing state", status: 400, code: "invalid_request",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Del("state") })
			}},
		{name: "empty state", status: 400, code: "invalid_request",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Set("state", "") })
			}},
		{name: "unknown state", status: 400, code: "invalid_request",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Set("state", strings.Repeat("A", 43)+".QUJD") })
			}},
		{name: "state of another flow", status: 400, code: "invalid_request",
			prepare: func(t *testing.T, fx *flowFx) string {
				other := newFlowFx(t, flowFxOptions{})
				st := other.start(other.ref).Query().Get("state")
				good(t, fx)
				return fxCallbackURL(url.Values{"code": {"c"}, "state": {st}})
			}},
		{name: "expired state", status: 400, code: "invalid_request", stage: "state",
			prepare: func(t *testing.T, fx *flowFx) string {
				u := good(t, fx)
				time.Sleep(10*time.Minute + time.Second)
				return u.String()
			}},
		{name: "replayed state", status: 400, code: "invalid_request", stage: "state",
			prepare: func(t *testing.T, fx *flowFx) string {
				u := good(t, fx).String()
				if resp := fx.callback(u); resp.StatusCode != http.StatusOK {
					t.Fatalf("first callback = %d", resp.StatusCode)
				}
				return u
			}},
		{name: "access denied", status: 400, code: "access_denied", desc: "The user denied access", stage: "authorize",
			prepare: func(t *testing.T, fx *flowFx) string {
				fx.srv.SetConsent(oauthtest.ConsentDeny)
				return good(t, fx).String()
			}},
		{name: "invalid scope", status: 400, code: "invalid_scope", stage: "authorize",
			prepare: func(t *testing.T, fx *flowFx) string {
				fx.srv.SetConsent(oauthtest.ConsentInvalidScope)
				return good(t, fx).String()
			}},
		{name: "code and error", status: 400, code: "invalid_request", stage: "callback",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Set("error", "access_denied") })
			}},
		{name: "neither code nor error", status: 400, code: "invalid_request", stage: "callback",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Del("code") })
			}},
		{name: "duplicate code", status: 400, code: "invalid_request", stage: "callback",
			prepare: func(t *testing.T, fx *flowFx) string { return good(t, fx).String() + "&code=second" }},
		{name: "duplicate state", status: 400, code: "invalid_request",
			prepare: func(t *testing.T, fx *flowFx) string {
				u := good(t, fx)
				return u.String() + "&state=" + url.QueryEscape(u.Query().Get("state"))
			}},
		{name: "duplicate extra parameter", status: 400, code: "invalid_request", stage: "callback",
			prepare: func(t *testing.T, fx *flowFx) string { return good(t, fx).String() + "&realmId=1&realmId=2" }},
		{name: "unparsable query", status: 400, code: "invalid_request", stage: "callback",
			prepare: func(t *testing.T, fx *flowFx) string { return good(t, fx).String() + "&x=%zz" }},
		{name: "bad error code characters", status: 400, code: "invalid_request", stage: "callback",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Del("code"); q.Set("error", "bad\"code") })
			}},
		{name: "wrong iss", opts: issFixture, status: 400, code: "invalid_request", stage: "issuer",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Set("iss", "https://evil.example") })
			}},
		{name: "missing iss the server announces", opts: issFixture, status: 400, code: "invalid_request", stage: "issuer",
			prepare: func(t *testing.T, fx *flowFx) string {
				return editQuery(good(t, fx), func(q url.Values) { q.Del("iss") })
			}},
		{name: "wrong iss on an error response", opts: issFixture, status: 400, code: "invalid_request", stage: "issuer",
			prepare: func(t *testing.T, fx *flowFx) string {
				fx.srv.SetConsent(oauthtest.ConsentDeny)
				return editQuery(good(t, fx), func(q url.Values) { q.Set("iss", "https://evil.example") })
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fx := newFlowFx(t, c.opts)
				u := c.prepare(t, fx)
				before := fx.tokenCalls()
				var prev *oauth.Token
				if conn := fx.conn(fx.ref); conn.Token != nil {
					tok := fx.token(fx.ref)
					prev = &tok
				}
				resp := fx.callback(u)
				body := flowBody(t, resp)
				if calls := fx.tokenCalls() - before; calls != 0 {
					t.Errorf("%d token endpoint calls", calls)
				}
				if resp.StatusCode != c.status || !strings.Contains(body, "Authorization failed") || !strings.Contains(body, c.code) {
					t.Errorf("answer %d, body %q; want %d naming %q", resp.StatusCode, body, c.status, c.code)
				}
				checkCallbackHeaders(t, resp)
				conn := fx.conn(fx.ref)
				switch {
				case prev == nil && conn.Token != nil:
					t.Error("a token set was stored")
				case prev != nil && !fx.token(fx.ref).AccessToken.Equal(prev.AccessToken):
					t.Error("the working token set was replaced")
				}
				entries := 0
				for _, e := range fx.logs(conn.ID) {
					if e.Event == oauth.EventConnectFailed {
						entries++
					}
				}
				if c.stage == "" {
					if entries != 0 {
						t.Errorf("%d connect_failed entries for an unknown connection", entries)
					}
					return
				}
				e := fx.lastEvent(conn.ID, oauth.EventConnectFailed)
				if e.Attrs["stage"] != c.stage || e.Attrs["error"] != c.code || e.Attrs["error_description"] == "" ||
					(c.desc != "" && e.Attrs["error_description"] != c.desc) {
					t.Errorf("connect_failed attrs = %v, want stage %q error %q", e.Attrs, c.stage, c.code)
				}
				if prev == nil && conn.Health.Status != connection.StatusError {
					t.Errorf("health = %+v, want error", conn.Health)
				}
				if prev != nil && conn.Health.Status != connection.StatusConfigured {
					t.Errorf("health of the working connection = %+v", conn.Health)
				}
			})
		})
	}
}

// fxCallbackURL is the flow's callback URL with a query.
func fxCallbackURL(q url.Values) string { return fxRedirectURL + "?" + q.Encode() }

func checkCallbackHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	for k, want := range map[string]string{
		"Referrer-Policy": "no-referrer",
		"Cache-Control":   "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// TestCallbackFailureKeepsWorkingToken: a second CONNECT that the customer
// abandons (denies) leaves the working token set and status alone.
func TestCallbackFailureKeepsWorkingToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		fx.connect(fx.ref)
		before := fx.token(fx.ref)
		fx.srv.SetConsent(oauthtest.ConsentDeny)
		if resp := fx.callback(fx.start(fx.ref).String()); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("denied callback = %d", resp.StatusCode)
		}
		after := fx.token(fx.ref)
		if !after.AccessToken.Equal(before.AccessToken) || !after.RefreshToken.Equal(before.RefreshToken) {
			t.Error("token set replaced by a failed CONNECT")
		}
		if h := fx.conn(fx.ref).Health; h.Status != connection.StatusConfigured {
			t.Errorf("health = %+v", h)
		}
		if ops := fx.sched.ops(); len(ops) != 1 || ops[0] != "schedule" {
			t.Errorf("scheduler calls = %v", ops)
		}
	})
}

// TestCallbackTokenEndpointFailures: refusals and unreachable token URLs
// are in the connection's log with the provider's code and description.
func TestCallbackTokenEndpointFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(fx *flowFx)
		code   string
		desc   string
		status string
	}{
		{name: "bad client credentials", code: "invalid_client", desc: "Client authentication failed",
			setup: func(fx *flowFx) {
				fx.srv.FailToken(1, oauthtest.Fault{Error: "invalid_client", Description: "Client authentication failed"})
			}},
		{name: "wrong token URL", code: "server_error", status: "404",
			setup: func(fx *flowFx) {
				fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: fx.srv.URL() + "/wrong/token"})
			}},
		{name: "wrong client secret", code: "invalid_client",
			setup: func(fx *flowFx) {
				fx.setValues(fx.ref, map[string]string{connection.FieldClientSecret: "not-the-secret"})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fx := newFlowFx(t, flowFxOptions{variable: embedEndpoints})
				tc.setup(fx)
				resp := fx.callback(fx.start(fx.ref).String())
				body := flowBody(t, resp)
				if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, tc.code) {
					t.Errorf("callback = %d %q", resp.StatusCode, body)
				}
				conn := fx.conn(fx.ref)
				if conn.Token != nil || conn.Health.Status != connection.StatusError {
					t.Errorf("connection after a failed exchange: token %v health %+v", conn.Token != nil, conn.Health)
				}
				e := fx.lastEvent(conn.ID, oauth.EventConnectFailed)
				if e.Attrs["stage"] != "exchange" || e.Attrs["error"] != tc.code ||
					(tc.desc != "" && e.Attrs["error_description"] != tc.desc) ||
					(tc.status != "" && e.Attrs["http_status"] != tc.status) {
					t.Errorf("connect_failed attrs = %v", e.Attrs)
				}
				if strings.Contains(e.Attrs["detail"], fxClientSecret) {
					t.Error("the client secret is in the log")
				}
			})
		})
	}
}

// TestCallbackSingleUse delivers one callback many times at once: exactly
// one exchange happens and exactly one browser sees success.
func TestCallbackSingleUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		u := fx.start(fx.ref).String()
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 8 {
			wg.Go(func() {
				resp := fx.callback(u)
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != 7 {
			t.Errorf("statuses = %v", statuses)
		}
		if n := fx.tokenCalls(); n != 1 {
			t.Errorf("token calls = %d", n)
		}
	})
}

func TestCallbackMethods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		u := fx.start(fx.ref).String()
		for _, m := range []string{http.MethodPost, http.MethodHead, http.MethodPut} {
			rec := httptest.NewRecorder()
			fx.flow.ServeHTTP(rec, httptest.NewRequest(m, u, nil))
			resp := rec.Result()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
				t.Errorf("%s = %d Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
			}
			checkCallbackHeaders(t, resp)
		}
		// The state was not consumed by those.
		if resp := fx.callback(u); resp.StatusCode != http.StatusOK {
			t.Errorf("GET after other methods = %d", resp.StatusCode)
		}
	})
}

// BenchmarkConnect measures a whole CONNECT against the in-memory fake
// provider: Start (resolve, seal verifier and state, store the pending
// authorization), the provider's redirect, and the callback (consume,
// exchange, seal, CAS write, log).
func BenchmarkConnect(b *testing.B) {
	fx := newFlowFx(b, flowFxOptions{})
	b.ReportAllocs()
	for b.Loop() {
		if resp := fx.callback(fx.start(fx.ref).String()); resp.StatusCode != http.StatusOK {
			b.Fatalf("callback = %d", resp.StatusCode)
		}
	}
}

// BenchmarkCallbackRejected measures the refusal of a forged, well-formed
// state: one store lookup, one failed Open of its sealed part, the failure
// page.
func BenchmarkCallbackRejected(b *testing.B) {
	fx := newFlowFx(b, flowFxOptions{})
	u := fxCallbackURL(url.Values{"code": {"c"}, "state": {strings.Repeat("A", 43) + ".QUJD"}})
	b.ReportAllocs()
	for b.Loop() {
		if resp := fx.callback(u); resp.StatusCode != http.StatusBadRequest {
			b.Fatalf("callback = %d", resp.StatusCode)
		}
	}
}
