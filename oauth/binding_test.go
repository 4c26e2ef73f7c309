package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/connkit/connkit/oauth"
)

// TestBrowserBindingRequiredByDefault: a Flow whose config leaves
// AllowUnboundConnect off refuses Start (which cannot bind), and its
// callback refuses a CONNECT begun without binding, before any token call
// (RFC 9700 section 4.7); StartRedirect's bound CONNECT completes.
func TestBrowserBindingRequiredByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{}) // allows unbound CONNECTs, like an old replica
		strict, err := oauth.NewFlow(oauth.FlowConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr,
			RedirectURL: fxRedirectURL, HTTPClient: fx.flow.HTTPClient()})
		if err != nil {
			t.Fatal(err)
		}
		if u, err := strict.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrUnboundConnect) || u != "" {
			t.Errorf("Start = %q, %v; want ErrUnboundConnect", u, err)
		}

		// A pending authorization without binding, completed at the strict
		// flow's callback.
		loc := fx.start(fx.ref)
		rec := httptest.NewRecorder()
		strict.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, loc.String(), nil))
		if rec.Code != http.StatusBadRequest || fx.tokenCalls() != 0 || fx.conn(fx.ref).Token != nil {
			t.Fatalf("unbound callback = %d, %d token calls", rec.Code, fx.tokenCalls())
		}
		if e := fx.lastEvent(fx.conn(fx.ref).ID, oauth.EventConnectFailed); e.Attrs["stage"] != "browser" {
			t.Errorf("connect_failed attrs = %v", e.Attrs)
		}

		// The bound CONNECT works.
		rec = httptest.NewRecorder()
		if err := strict.StartRedirect(rec, httptest.NewRequest(http.MethodPost, "https://app.example/connect", nil), fx.ref); err != nil {
			t.Fatal(err)
		}
		started := rec.Result()
		back, err := fx.srv.Authorize(context.Background(), started.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		cb := httptest.NewRequest(http.MethodGet, back.String(), nil)
		for _, c := range started.Cookies() {
			cb.AddCookie(c)
		}
		rec = httptest.NewRecorder()
		strict.ServeHTTP(rec, cb)
		if rec.Code != http.StatusOK || fx.conn(fx.ref).Token == nil {
			t.Errorf("bound callback = %d: %s", rec.Code, rec.Body)
		}
	})
}

// TestStartRedirectRefusesBadRequests: StartRedirect answers a request that
// is not a POST with 405 and one sent to another host than the RedirectURL's
// with 421, starting nothing; the host and port are compared without case
// and with the default port implied.
func TestStartRedirectRefusesBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name, method, url string
		status            int
	}{
		{"GET", http.MethodGet, "https://app.example/connect", http.StatusMethodNotAllowed},
		{"HEAD", http.MethodHead, "https://app.example/connect", http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, "https://app.example/connect", http.StatusMethodNotAllowed},
		{"another host", http.MethodPost, "https://www.app.example/connect", http.StatusMisdirectedRequest},
		{"a parent domain", http.MethodPost, "https://example/connect", http.StatusMisdirectedRequest},
		{"another port", http.MethodPost, "https://app.example:8443/connect", http.StatusMisdirectedRequest},
		{"same host", http.MethodPost, "https://app.example/connect", http.StatusSeeOther},
		{"same host, default port, upper case", http.MethodPost, "https://APP.example:443/connect", http.StatusSeeOther},
		{"same host, trailing dot", http.MethodPost, "https://app.example./connect", http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fx := newFlowFx(t, flowFxOptions{})
				rec := httptest.NewRecorder()
				err := fx.flow.StartRedirect(rec, httptest.NewRequest(tc.method, tc.url, nil), fx.ref)
				resp := rec.Result()
				if resp.StatusCode != tc.status {
					t.Errorf("StartRedirect answered %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.status == http.StatusSeeOther {
					if err != nil {
						t.Errorf("StartRedirect = %v", err)
					}
					return
				}
				if !errors.Is(err, oauth.ErrBadStartRequest) {
					t.Errorf("StartRedirect = %v, want ErrBadStartRequest", err)
				}
				if len(resp.Cookies()) != 0 || resp.Header.Get("Location") != "" {
					t.Errorf("refused request got cookies %v, Location %q", resp.Cookies(), resp.Header.Get("Location"))
				}
				if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
					t.Errorf("Allow = %q", resp.Header.Get("Allow"))
				}
				if c, err := fx.store.GetConnection(context.Background(), fx.ref); err == nil && slices.Contains(fx.events(c.ID), oauth.EventConnectStarted) {
					t.Errorf("a refused request started a CONNECT: %v", fx.events(c.ID))
				}
			})
		})
	}
}
